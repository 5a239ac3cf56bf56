using System.Net;
using Pigeon.Api;
using Pigeon.Messaging;
using Pigeon.Protocol.Identity;

namespace Pigeon.Tests.Client;

/// <summary>
/// <see cref="PigeonApiClient"/>, the one client of the API, against the API in memory: the sign-in
/// flow starts over exactly once on a spent challenge, an expired token is renewed once, and every
/// error answer becomes one <see cref="PigeonApiException"/>.
/// </summary>
public sealed class PigeonApiClientTests : IDisposable
{
    private readonly InMemoryApi _api = new();
    private readonly IdentityKeyPair _identity = IdentityKeyPair.Generate();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _identity.Dispose();

    private async Task<PigeonApiClient> RegisteredAsync()
    {
        var client = _api.Connect(InMemoryApi.Server, _identity.Credentials());
        await client.RegisterAsync(_identity.PublicIdentity.Registration(), Ct);
        return client;
    }

    private int Count(string request) => _api.Requests.Count(r => r == request);

    [Fact]
    public async Task SignIn_WhenTheTokenRequestFindsItsChallengeSpent_StartsOverOnce()
    {
        using var client = await RegisteredAsync();
        var refused = 0;
        _api.Intercept = (request, _) => Task.FromResult(request.RequestUri!.AbsolutePath == "/v1/auth/token" && Interlocked.Increment(ref refused) == 1
            ? InMemoryApi.Problem(HttpStatusCode.Unauthorized, ProblemTypes.ChallengeFailed, "Spent.")
            : null);

        await client.SignInAsync(Ct);

        Assert.NotNull(client.Token);
        Assert.Equal((2, 2), (Count("POST /v1/auth/challenge"), Count("POST /v1/auth/token")));
    }

    [Fact]
    public async Task SignIn_RefusedAgainAfterStartingOver_IsReported_NotRetriedForever()
    {
        using var client = await RegisteredAsync();
        _api.Intercept = (request, _) => Task.FromResult(request.RequestUri!.AbsolutePath == "/v1/auth/token"
            ? InMemoryApi.Problem(HttpStatusCode.Unauthorized, ProblemTypes.ChallengeFailed, "Refused.")
            : null);

        var refused = await Assert.ThrowsAsync<PigeonApiException>(() => client.SignInAsync(Ct));

        Assert.Equal((HttpStatusCode.Unauthorized, ProblemTypes.ChallengeFailed), (refused.Status, refused.Type));
        Assert.Equal(2, Count("POST /v1/auth/token"));
        Assert.Null(client.Token);
    }

    [Fact]
    public async Task ExpiredToken_IsRenewedOnce_AndTheCallRepeated()
    {
        using var client = await RegisteredAsync();
        await client.CountPrekeysAsync(Ct);
        var first = client.Token;
        _api.ExpireTokens();

        await client.CountPrekeysAsync(Ct);

        Assert.NotEqual(first, client.Token);
        Assert.Equal((3, 2), (Count("GET /v1/keys/count"), Count("POST /v1/auth/token")));
    }

    [Fact]
    public async Task ATokenRefusedRightAfterRenewal_IsReported()
    {
        using var client = await RegisteredAsync();
        await client.SignInAsync(Ct);
        _api.Intercept = (request, _) => Task.FromResult(request.RequestUri!.AbsolutePath == "/v1/keys/count"
            ? InMemoryApi.Problem(HttpStatusCode.Unauthorized, ProblemTypes.TokenInvalid, "Bad token.")
            : null);

        var refused = await Assert.ThrowsAsync<PigeonApiException>(() => client.CountPrekeysAsync(Ct));

        Assert.Equal(ProblemTypes.TokenInvalid, refused.Type);
        Assert.Equal((2, 2), (Count("GET /v1/keys/count"), Count("POST /v1/auth/token")));
    }

    [Fact]
    public async Task AProblem_BecomesOneException_WithStatusTypeTitleDetailAndRetryAfter()
    {
        using var client = await RegisteredAsync();
        _api.Intercept = (request, _) =>
        {
            if (request.RequestUri!.AbsolutePath != "/v1/messages")
            {
                return Task.FromResult<HttpResponseMessage?>(null);
            }

            var limited = InMemoryApi.Problem(HttpStatusCode.TooManyRequests, ProblemTypes.RateLimited, "Too many requests.", "Slow down.");
            limited.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(7));
            return Task.FromResult<HttpResponseMessage?>(limited);
        };

        var problem = await Assert.ThrowsAsync<PigeonApiException>(() => client.DepositAsync([new OutgoingEnvelope(_identity.AccountId, Guid.NewGuid(), [1])], Ct));

        Assert.Equal((HttpStatusCode.TooManyRequests, ProblemTypes.RateLimited, "Too many requests.", "Slow down.", TimeSpan.FromSeconds(7)),
            (problem.Status, problem.Type, problem.Title, problem.Detail, problem.RetryAfter));
        Assert.True(problem.IsTransient);
        Assert.Equal("Slow down.", problem.Message);
    }

    [Fact]
    public async Task AStatusWithoutAProblem_KeepsTheStatus()
    {
        using var client = await RegisteredAsync();
        _api.Intercept = (request, _) => Task.FromResult<HttpResponseMessage?>(new HttpResponseMessage(HttpStatusCode.BadGateway));

        var problem = await Assert.ThrowsAsync<PigeonApiException>(() => client.CountPrekeysAsync(Ct));

        Assert.Equal((HttpStatusCode.BadGateway, (string?)null, "502 Bad Gateway"), (problem.Status, problem.Type, problem.Message));
    }

    [Fact]
    public async Task ASuccessThatIsNotTheApisJson_IsRefused()
    {
        using var client = await RegisteredAsync();
        await client.SignInAsync(Ct);
        _api.Intercept = (request, _) => Task.FromResult<HttpResponseMessage?>(new HttpResponseMessage(HttpStatusCode.OK)
        {
            Content = new StringContent("""{"oneTimePrekeys":1}""", System.Text.Encoding.UTF8, "application/json"),
        });

        var refused = await Assert.ThrowsAsync<PigeonApiException>(() => client.CountPrekeysAsync(Ct));

        Assert.Equal(HttpStatusCode.OK, refused.Status);
        Assert.IsType<System.Text.Json.JsonException>(refused.InnerException);
    }

    [Fact]
    public async Task NoAnswerWithinTheRequestTimeout_IsATimeout_AndTheCallersCancellationIsNot()
    {
        using var http = new HttpClient(_api, disposeHandler: false) { BaseAddress = InMemoryApi.Server };
        using var client = new PigeonApiClient(http, _identity.Credentials()) { RequestTimeout = TimeSpan.FromMilliseconds(50) };
        // An answer that never comes, until the request is given up.
        _api.Intercept = async (_, requestAborted) =>
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, requestAborted);
            return null;
        };

        await Assert.ThrowsAsync<TimeoutException>(() => client.RegisterAsync(_identity.PublicIdentity.Registration(), Ct));
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.RegisterAsync(_identity.PublicIdentity.Registration(), cancelled.Token));
    }
}
