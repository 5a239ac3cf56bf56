using System.Net.Http.Headers;
using System.Net.Http.Json;
using Pigeon.Api;
using Pigeon.Messaging;
using Pigeon.Protocol.Identity;

namespace Pigeon.Tests.Deployment;

/// <summary>
/// A user of the gateway's HTTP API with a fresh identity: signs up through <see cref="PigeonApiClient"/>,
/// then deposits, long-polls and acknowledges with raw requests whose answers (503s during a failover,
/// say) are the caller's to judge.
/// </summary>
public sealed class ApiUser : IDisposable
{
    private readonly IdentityKeyPair _identity = IdentityKeyPair.Generate();
    private string? _token;

    /// <summary>The self-certifying account id.</summary>
    public string AccountId => _identity.AccountId;

    /// <summary>Registers the identity, then exchanges a signed challenge for a bearer token.</summary>
    public async Task SignUpAsync(HttpClient http, CancellationToken cancellationToken)
    {
        using var api = new PigeonApiClient(http, _identity.Credentials());
        await api.RegisterAsync(_identity.PublicIdentity.Registration(), cancellationToken);
        await api.SignInAsync(cancellationToken);
        _token = api.Token;
    }

    /// <summary>Deposits one envelope for the recipient; the response is the caller's to judge.</summary>
    public Task<HttpResponseMessage> DepositAsync(HttpClient http, string recipient, Guid messageId, byte[] payload, CancellationToken cancellationToken) =>
        http.SendAsync(Authorized(HttpMethod.Post, "/v1/messages",
            JsonContent.Create(new DepositRequest([new OutgoingEnvelope(recipient, messageId, payload)]), PigeonJson.TypeInfo<DepositRequest>())), cancellationToken);

    /// <summary>Long-polls the own mailbox for up to <paramref name="waitSeconds"/>.</summary>
    public Task<HttpResponseMessage> ReceiveAsync(HttpClient http, int waitSeconds, CancellationToken cancellationToken) =>
        http.SendAsync(Authorized(HttpMethod.Get, $"/v1/messages?after=0&wait={waitSeconds}"), cancellationToken);

    /// <summary>Acknowledges (deletes) envelopes of the own mailbox.</summary>
    public Task<HttpResponseMessage> AckAsync(HttpClient http, IEnumerable<Guid> messageIds, CancellationToken cancellationToken) =>
        http.SendAsync(Authorized(HttpMethod.Post, "/v1/messages/ack",
            JsonContent.Create(new AckRequest([.. messageIds]), PigeonJson.TypeInfo<AckRequest>())), cancellationToken);

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
}
