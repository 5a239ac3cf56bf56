using System.Net.Http.Headers;
using System.Net.Http.Json;
using Pigeon.Api;
using Pigeon.Messaging;
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

/// <summary>
/// The gateway's HTTP API for tests, through <see cref="PigeonApiClient"/> (the one client of the API)
/// as the given user over the given connection; <see cref="Authorized"/> builds raw requests for the
/// tests that send what no client would.
/// </summary>
public static class ApiClient
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Registers a new identity and logs it in.</summary>
    public static async Task<TestUser> RegisterAndLoginAsync(HttpClient http)
    {
        var user = await RegisterAsync(http);
        user.Token = await LoginAsync(http, user);
        return user;
    }

    /// <summary>Registers a new identity, without logging it in.</summary>
    public static async Task<TestUser> RegisterAsync(HttpClient http)
    {
        var user = new TestUser(IdentityKeyPair.Generate());
        using var api = new PigeonApiClient(http, user.Identity.Credentials());
        await api.RegisterAsync(user.Identity.PublicIdentity.Registration(), Ct);
        return user;
    }

    /// <summary>Answers a fresh challenge and returns the token.</summary>
    public static async Task<string> LoginAsync(HttpClient http, TestUser user)
    {
        using var api = new PigeonApiClient(http, user.Identity.Credentials());
        await api.SignInAsync(Ct);
        return api.Token!;
    }

    /// <summary>What <paramref name="user"/> signs to answer <paramref name="challenge"/> from the server <paramref name="http"/> talks to, as every client does.</summary>
    public static byte[] SignChallenge(HttpClient http, TestUser user, byte[] challenge) =>
        SignChallenge(ChallengeBinding.OriginOf(http.BaseAddress!), user.Identity, challenge);

    /// <summary>What <paramref name="identity"/> signs to answer <paramref name="challenge"/> for the server at <paramref name="origin"/>.</summary>
    public static byte[] SignChallenge(string origin, IdentityKeyPair identity, byte[] challenge) =>
        identity.SignAuthChallenge(identity.AccountId, ChallengeBinding.Bind(origin, challenge));

    /// <summary>The API as <paramref name="user"/> with the token it holds (it does not sign in again).</summary>
    public static PigeonApiClient As(HttpClient http, TestUser user) => new(http) { Token = user.Token };

    /// <summary>Publishes a signed prekey, a last-resort ML-KEM prekey and some one-time prekeys.</summary>
    public static async Task<PrekeyCountsResponse> UploadPrekeysAsync(HttpClient http, TestUser user, int oneTimeCount)
    {
        var store = new PrekeyStore();
        var request = new UploadPrekeysRequest(
            store.RotateSignedPrekey(user.Identity, DateTimeOffset.UtcNow).ToDto(),
            store.RotateLastResortMlKemPrekey(user.Identity, DateTimeOffset.UtcNow).ToDto(),
            [.. store.GenerateOneTimePrekeys(oneTimeCount).Select(p => p.ToDto())],
            [.. store.GenerateMlKemPrekeys(user.Identity, oneTimeCount).Select(p => p.ToDto())]);
        using var api = As(http, user);
        return await api.UploadPrekeysAsync(request, Ct);
    }

    /// <summary>Deposits envelopes and returns the receipts.</summary>
    public static async Task<DepositResponse> DepositAsync(HttpClient http, TestUser sender, params OutgoingEnvelope[] envelopes)
    {
        using var api = As(http, sender);
        return await api.DepositAsync(envelopes, Ct);
    }

    /// <summary>Long-polls the user's mailbox, acknowledging <paramref name="ack"/> first.</summary>
    public static async Task<ReceiveResponse> ReceiveAsync(
        HttpClient http, TestUser user, CancellationToken cancellationToken, long after = 0, int wait = 0, IReadOnlyList<Guid>? ack = null)
    {
        using var api = As(http, user);
        return await api.ReceiveAsync(after, TimeSpan.FromSeconds(wait), ack, ct: cancellationToken);
    }

    /// <summary>Acknowledges message ids.</summary>
    public static async Task<int> AckAsync(HttpClient http, TestUser user, params Guid[] messageIds)
    {
        using var api = As(http, user);
        return (await api.AckAsync(messageIds, Ct)).Acknowledged;
    }

    /// <summary>A raw request carrying the user's token and, when given, one of the API's records as its body.</summary>
    public static HttpRequestMessage Authorized<T>(HttpMethod method, string path, TestUser? user, T body)
    {
        var message = Authorized(method, path, user);
        message.Content = JsonContent.Create(body, PigeonJson.TypeInfo<T>());
        return message;
    }

    /// <summary>A raw request carrying the user's token.</summary>
    public static HttpRequestMessage Authorized(HttpMethod method, string path, TestUser? user)
    {
        var message = new HttpRequestMessage(method, path);
        if (user?.Token is { } token)
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return message;
    }
}
