using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Pigeon.Gateway.Apis;
using Pigeon.Protocol.Identity;
using Pigeon.Protocol.Prekeys;

namespace Pigeon.Tests.Testing;

/// <summary>A registered test user: an identity and, once logged in, a bearer token.</summary>
public sealed class TestUser(IdentityKeyPair identity)
{
    public IdentityKeyPair Identity { get; } = identity;

    public string AccountId => Identity.AccountId;

    public string? Token { get; set; }
}

/// <summary>Drives the gateway's HTTP API the way a client does, for tests.</summary>
public static class ApiClient
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Registers a new identity and logs it in.</summary>
    public static async Task<TestUser> RegisterAndLoginAsync(HttpClient http)
    {
        var user = new TestUser(IdentityKeyPair.Generate());
        var identity = user.Identity.PublicIdentity;
        using var registered = await http.PostAsJsonAsync("/v1/accounts",
            new RegisterAccountRequest(user.AccountId, identity.SigningKey, identity.AgreementKey, identity.AgreementKeySignature), Json, Ct);
        await EnsureAsync(registered);
        user.Token = await LoginAsync(http, user);
        return user;
    }

    /// <summary>Answers a fresh challenge and returns the token.</summary>
    public static async Task<string> LoginAsync(HttpClient http, TestUser user)
    {
        var challenge = await PostAsync<ChallengeResponse>(http, "/v1/auth/challenge", new ChallengeRequest(user.AccountId));
        var token = await PostAsync<TokenResponse>(http, "/v1/auth/token",
            new TokenRequest(user.AccountId, challenge.Challenge, user.Identity.SignAuthChallenge(user.AccountId, challenge.Challenge)));
        return token.Token;
    }

    /// <summary>Publishes a signed prekey, a last-resort ML-KEM prekey and some one-time prekeys.</summary>
    public static async Task<PrekeyCountsResponse> UploadPrekeysAsync(HttpClient http, TestUser user, int oneTimeCount)
    {
        var store = new PrekeyStore();
        var signed = store.RotateSignedPrekey(user.Identity, DateTimeOffset.UtcNow);
        var lastResort = store.RotateLastResortMlKemPrekey(user.Identity, DateTimeOffset.UtcNow);
        var request = new UploadPrekeysRequest(
            new PrekeyDto(signed.Id, signed.PublicKey, signed.Signature),
            new PrekeyDto(lastResort.Id, lastResort.PublicKey, lastResort.Signature),
            [.. store.GenerateOneTimePrekeys(oneTimeCount).Select(p => new PrekeyDto(p.Id, p.PublicKey))],
            [.. store.GenerateMlKemPrekeys(user.Identity, oneTimeCount).Select(p => new PrekeyDto(p.Id, p.PublicKey, p.Signature))]);
        using var message = Authorized(HttpMethod.Put, "/v1/keys", user, request);
        using var response = await http.SendAsync(message, Ct);
        await EnsureAsync(response);
        return (await response.Content.ReadFromJsonAsync<PrekeyCountsResponse>(Json, Ct))!;
    }

    /// <summary>Deposits envelopes and returns the receipts.</summary>
    public static async Task<DepositResponse> DepositAsync(HttpClient http, TestUser sender, params OutgoingEnvelope[] envelopes)
    {
        using var message = Authorized(HttpMethod.Post, "/v1/messages", sender, new DepositRequest(envelopes));
        using var response = await http.SendAsync(message, Ct);
        await EnsureAsync(response);
        return (await response.Content.ReadFromJsonAsync<DepositResponse>(Json, Ct))!;
    }

    /// <summary>Long-polls the user's mailbox, acknowledging <paramref name="ack"/> first.</summary>
    public static async Task<ReceiveResponse> ReceiveAsync(
        HttpClient http, TestUser user, CancellationToken cancellationToken, long after = 0, int wait = 0, IReadOnlyList<Guid>? ack = null)
    {
        var acks = string.Concat((ack ?? []).Select(id => $"&ack={id}"));
        using var message = Authorized(HttpMethod.Get, $"/v1/messages?after={after}&wait={wait}{acks}", user);
        using var response = await http.SendAsync(message, cancellationToken);
        await EnsureAsync(response);
        return (await response.Content.ReadFromJsonAsync<ReceiveResponse>(Json, Ct))!;
    }

    /// <summary>Acknowledges message ids.</summary>
    public static async Task<int> AckAsync(HttpClient http, TestUser user, params Guid[] messageIds)
    {
        using var message = Authorized(HttpMethod.Post, "/v1/messages/ack", user, new AckRequest(messageIds));
        using var response = await http.SendAsync(message, Ct);
        await EnsureAsync(response);
        return (await response.Content.ReadFromJsonAsync<AckResponse>(Json, Ct))!.Acknowledged;
    }

    /// <summary>A request carrying the user's token and, when given, a JSON body.</summary>
    public static HttpRequestMessage Authorized(HttpMethod method, string path, TestUser? user, object? body = null)
    {
        var message = new HttpRequestMessage(method, path);
        if (user?.Token is { } token)
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (body is not null)
        {
            message.Content = JsonContent.Create(body, body.GetType(), options: Json);
        }

        return message;
    }

    private static async Task<T> PostAsync<T>(HttpClient http, string path, object body)
    {
        using var response = await http.PostAsync(path, JsonContent.Create(body, body.GetType(), options: Json), Ct);
        await EnsureAsync(response);
        return (await response.Content.ReadFromJsonAsync<T>(Json, Ct))!;
    }

    private static async Task EnsureAsync(HttpResponseMessage response)
    {
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException(
                $"{(int)response.StatusCode} {response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: {await response.Content.ReadAsStringAsync(Ct)}",
                null, response.StatusCode);
        }
    }
}
