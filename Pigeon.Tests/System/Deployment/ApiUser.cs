using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Pigeon.Protocol.Identity;

namespace Pigeon.Tests.Deployment;

/// <summary>
/// A user of the gateway's HTTP API with a fresh identity: registers, answers the auth challenge,
/// deposits, long-polls and acknowledges, the way a client does (camelCase JSON, base64 bytes).
/// </summary>
public sealed class ApiUser : IDisposable
{
    /// <summary>The API's JSON rules: camelCase names, byte arrays as base64.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly IdentityKeyPair _identity = IdentityKeyPair.Generate();
    private string? _token;

    /// <summary>The self-certifying account id.</summary>
    public string AccountId => _identity.AccountId;

    /// <summary>Registers the identity, then exchanges a signed challenge for a bearer token.</summary>
    public async Task SignUpAsync(HttpClient http, CancellationToken cancellationToken)
    {
        var identity = _identity.PublicIdentity;
        using (var registered = await http.PostAsJsonAsync("/v1/accounts",
                   new { accountId = AccountId, identity.SigningKey, identity.AgreementKey, identity.AgreementKeySignature }, Json, cancellationToken))
        {
            await EnsureSuccessAsync(registered, cancellationToken);
        }

        ChallengeResponse challenge;
        using (var response = await http.PostAsJsonAsync("/v1/auth/challenge", new { accountId = AccountId }, Json, cancellationToken))
        {
            await EnsureSuccessAsync(response, cancellationToken);
            challenge = (await response.Content.ReadFromJsonAsync<ChallengeResponse>(Json, cancellationToken))!;
        }

        var signature = _identity.SignAuthChallenge(AccountId, challenge.Challenge);
        using (var response = await http.PostAsJsonAsync("/v1/auth/token",
                   new { accountId = AccountId, challenge = challenge.Challenge, signature }, Json, cancellationToken))
        {
            await EnsureSuccessAsync(response, cancellationToken);
            _token = (await response.Content.ReadFromJsonAsync<TokenResponse>(Json, cancellationToken))!.Token;
        }
    }

    /// <summary>Deposits one envelope for the recipient; the response is the caller's to judge.</summary>
    public Task<HttpResponseMessage> DepositAsync(HttpClient http, string recipient, Guid messageId, byte[] payload, CancellationToken cancellationToken) =>
        http.SendAsync(Authorized(HttpMethod.Post, "/v1/messages",
            JsonContent.Create(new { envelopes = new[] { new { recipient, messageId, payload } } }, options: Json)), cancellationToken);

    /// <summary>Long-polls the own mailbox for up to <paramref name="waitSeconds"/>.</summary>
    public Task<HttpResponseMessage> ReceiveAsync(HttpClient http, int waitSeconds, CancellationToken cancellationToken) =>
        http.SendAsync(Authorized(HttpMethod.Get, $"/v1/messages?after=0&wait={waitSeconds}"), cancellationToken);

    /// <summary>Acknowledges (deletes) envelopes of the own mailbox.</summary>
    public Task<HttpResponseMessage> AckAsync(HttpClient http, IEnumerable<Guid> messageIds, CancellationToken cancellationToken) =>
        http.SendAsync(Authorized(HttpMethod.Post, "/v1/messages/ack",
            JsonContent.Create(new { messageIds = messageIds.ToArray() }, options: Json)), cancellationToken);

    /// <summary>Fails with the status and the ProblemDetails body when the response is not a success.</summary>
    public static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new HttpRequestException($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.PathAndQuery} answered {(int)response.StatusCode}: {body}", null, response.StatusCode);
        }
    }

    public void Dispose() => _identity.Dispose();

    private HttpRequestMessage Authorized(HttpMethod method, string path, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token ?? throw new InvalidOperationException("Sign up first."));
        return request;
    }

    /// <summary>A challenge to sign.</summary>
    public sealed record ChallengeResponse(byte[] Challenge, DateTimeOffset ExpiresAt);

    /// <summary>A bearer token.</summary>
    public sealed record TokenResponse(string Token, DateTimeOffset ExpiresAt);

    /// <summary>One received envelope.</summary>
    public sealed record IncomingEnvelope(Guid MessageId, long Sequence, byte[] Payload, DateTimeOffset DepositedAt);

    /// <summary>A receive's result.</summary>
    public sealed record ReceiveResponse(IReadOnlyList<IncomingEnvelope> Envelopes, bool HasMore);
}
