using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Serialization.Metadata;
using System.Web;
using Pigeon.Api;
using Pigeon.Messaging;
using Pigeon.Protocol.Delivery;
using Pigeon.Protocol.Devices;
using Pigeon.Protocol.Identity;
using Pigeon.Protocol.Storage;

namespace Pigeon.Tests.Client;

/// <summary>
/// The HTTP API answered in memory, under <see cref="PigeonApiClient"/>, for unit tests of the client
/// core without processes: accounts, challenge and token (signatures checked, bound to the origin the client sends to, as the gateway binds them), prekeys (handed out
/// lowest id first, as the account grain does), mailboxes with sequence numbers, long-poll without
/// the wait, acknowledgements, and delivery keys with sealed deposits (no token). Bodies are read and
/// written with the API's strict JSON rules. Every request is logged; <see cref="Intercept"/> answers
/// in its place when it returns a response.
/// </summary>
public sealed class InMemoryApi : HttpMessageHandler
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, RegisterAccountRequest> _accounts = [];
    private readonly HashSet<string> _challenges = [];
    private readonly Dictionary<string, string> _tokens = [];
    private readonly Dictionary<string, Prekeys> _prekeys = [];
    private readonly Dictionary<string, List<IncomingEnvelope>> _mailboxes = [];
    private readonly Dictionary<string, byte[]> _deliveryVerifiers = [];
    private readonly Dictionary<string, DeviceListRecord> _deviceLists = [];
    private long _sequence;

    /// <summary>Where profiles made over this API say their server is.</summary>
    public static readonly Uri Server = new("http://pigeon.test/");

    /// <summary>Every request: method, path and query.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>Answers a request in the API's place when it returns a response (a failure to inject, say).</summary>
    public Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage?>>? Intercept { get; set; }

    /// <summary>The lifetime each deposited envelope asked for (null: none), by message id.</summary>
    public ConcurrentDictionary<Guid, int?> Lifetimes { get; } = new();

    /// <summary>The most envelopes one receive returns without <c>max</c>.</summary>
    public int ReceiveBatch { get; set; } = ApiLimits.MaxReceiveBatch;

    /// <summary>The client core's environment over this API, with <paramref name="time"/> as its clock.</summary>
    public MessagingEnvironment Environment(TimeProvider? time = null) => new()
    {
        ConnectApi = Connect,
        Time = time ?? TimeProvider.System,
        KdfParameters = new PassphraseKeyParameters(8 * 1024, 1),
    };

    /// <summary>A client of this API.</summary>
    public PigeonApiClient Connect(Uri server, ApiCredentials? credentials) =>
        new(new HttpClient(this, disposeHandler: false) { BaseAddress = server }, credentials, disposeHttpClient: true);

    /// <summary>Every token issued so far stops working, as if it expired.</summary>
    public void ExpireTokens()
    {
        lock (_lock)
        {
            _tokens.Clear();
        }
    }

    /// <summary>Puts an envelope into a mailbox as someone with access to the server could (a new sequence number).</summary>
    public void Put(string recipient, Guid messageId, byte[] payload)
    {
        lock (_lock)
        {
            Mailbox(recipient).Add(new IncomingEnvelope(messageId, ++_sequence, payload, DateTimeOffset.UtcNow));
        }
    }

    /// <summary>The ids of the envelopes a mailbox holds.</summary>
    public List<Guid> MailboxOf(string accountId)
    {
        lock (_lock)
        {
            return [.. Mailbox(accountId).Select(e => e.MessageId)];
        }
    }

    /// <summary>Takes every envelope out of a mailbox, as a server that delays them could; <see cref="Put"/> brings one back.</summary>
    public List<IncomingEnvelope> Take(string accountId)
    {
        lock (_lock)
        {
            var taken = Mailbox(accountId).ToList();
            Mailbox(accountId).Clear();
            return taken;
        }
    }

    /// <summary>The payloads a mailbox holds, in order.</summary>
    public List<byte[]> PayloadsOf(string accountId)
    {
        lock (_lock)
        {
            return [.. Mailbox(accountId).Select(e => e.Payload)];
        }
    }

    /// <summary>What the server holds of an account's prekeys.</summary>
    public PrekeyCountsResponse CountsOf(string accountId)
    {
        lock (_lock)
        {
            return Counts(accountId);
        }
    }

    /// <summary>The id of an account's published signed prekey.</summary>
    public uint SignedPrekeyIdOf(string accountId)
    {
        lock (_lock)
        {
            return _prekeys[accountId].Signed!.Id;
        }
    }

    /// <summary>Hands out <paramref name="count"/> bundles of an account, as fetchers would.</summary>
    public void HandOut(string accountId, int count)
    {
        lock (_lock)
        {
            for (var i = 0; i < count; i++)
            {
                Bundle(accountId);
            }
        }
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Requests.Enqueue($"{request.Method} {request.RequestUri!.PathAndQuery}");
        if (Intercept is { } intercept && await intercept(request, cancellationToken) is { } injected)
        {
            return injected;
        }

        var body = request.Content is null ? null : await request.Content.ReadAsByteArrayAsync(cancellationToken);
        lock (_lock)
        {
            return Answer(request.Method, request.RequestUri, HttpUtility.ParseQueryString(request.RequestUri.Query),
                request.Headers.Authorization?.Parameter, body);
        }
    }

    /// <summary>A problem as the gateway writes it.</summary>
    public static HttpResponseMessage Problem(HttpStatusCode status, string type, string title, string? detail = null) => new(status)
    {
        Content = JsonContent.Create(new ApiProblem(type, title, detail, (int)status), PigeonJson.TypeInfo<ApiProblem>(),
            new System.Net.Http.Headers.MediaTypeHeaderValue("application/problem+json")),
    };

    private HttpResponseMessage Answer(HttpMethod method, Uri address, System.Collections.Specialized.NameValueCollection query, string? token, byte[]? body)
    {
        var path = address.AbsolutePath;
        switch (method.Method, path)
        {
            case ("POST", "/v1/accounts"):
                var registration = Read<RegisterAccountRequest>(body);
                var created = _accounts.TryAdd(registration.AccountId, registration);
                return Json(created ? HttpStatusCode.Created : HttpStatusCode.OK, new AccountResponse(registration.AccountId, DateTimeOffset.UtcNow));
            case ("POST", "/v1/auth/challenge"):
                var asked = Read<ChallengeRequest>(body);
                if (!_accounts.ContainsKey(asked.AccountId))
                {
                    return Problem(HttpStatusCode.NotFound, ProblemTypes.AccountNotFound, "No account has this id.");
                }

                var challenge = RandomNumberGenerator.GetBytes(32);
                _challenges.Add(Key(asked.AccountId, challenge));
                return Json(HttpStatusCode.OK, new ChallengeResponse(challenge, DateTimeOffset.UtcNow.AddMinutes(2)));
            case ("POST", "/v1/auth/token"):
                var answer = Read<TokenRequest>(body);
                // As the gateway: the identity key until the account has a device list, then the device's listed key.
                var bound = _accounts.ContainsKey(answer.AccountId) ? ChallengeBinding.Bind(ChallengeBinding.OriginOf(address), answer.Challenge) : [];
                var signedIn = _accounts.TryGetValue(answer.AccountId, out var account) && (_deviceLists.TryGetValue(answer.AccountId, out var devices)
                    ? devices.Devices.FirstOrDefault(d => d.DeviceId == answer.DeviceId) is { } listed
                        && DeviceKeyPair.VerifyAuthChallenge(listed.SigningKey, answer.AccountId, answer.DeviceId, bound, answer.Signature)
                    : answer.DeviceId == 1 && IdentitySignatures.VerifyAuthChallenge(account.SigningKey, answer.AccountId, bound, answer.Signature));
                if (!signedIn || !_challenges.Remove(Key(answer.AccountId, answer.Challenge)))
                {
                    return Problem(HttpStatusCode.Unauthorized, ProblemTypes.ChallengeFailed, "The challenge failed.");
                }

                var issued = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
                _tokens[issued] = answer.AccountId;
                return Json(HttpStatusCode.OK, new TokenResponse(issued, DateTimeOffset.UtcNow.AddHours(1)));
            case ("POST", "/v1/messages/sealed"):
                var sealedDeposit = Read<SealedDepositRequest>(body);
                // As the gateway: a wrong key and an unknown recipient get the same 401.
                if (sealedDeposit.Envelopes.Any(e => !_deliveryVerifiers.TryGetValue(e.Recipient, out var verifier)
                    || e.DeliveryKey.Length != DeliveryKey.EncodedSize
                    || !DeliveryKeyVerifier.Matches(verifier, e.Recipient, DeliveryKey.FromBytes(e.DeliveryKey).Epoch, DeliveryKey.FromBytes(e.DeliveryKey).Key)))
                {
                    return Problem(HttpStatusCode.Unauthorized, ProblemTypes.DeliveryRefused, "A delivery key was not accepted.");
                }

                return Deposit([.. sealedDeposit.Envelopes.Select(e => new OutgoingEnvelope(e.Recipient, e.MessageId, e.Payload, e.LifetimeSeconds))]);
        }

        if (token is null || !_tokens.TryGetValue(token, out var caller))
        {
            return Problem(HttpStatusCode.Unauthorized, token is null ? ProblemTypes.TokenMissing : ProblemTypes.TokenExpired, "Sign in again.");
        }

        switch (method.Method, path)
        {
            case ("PUT", "/v1/keys"):
                var upload = Read<UploadPrekeysRequest>(body);
                var held = PrekeysOf(caller);
                held.Signed = upload.SignedPrekey ?? held.Signed;
                held.LastResort = upload.LastResortKemPrekey ?? held.LastResort;
                held.OneTime.AddRange(upload.OneTimePrekeys ?? []);
                held.OneTimeKem.AddRange(upload.OneTimeKemPrekeys ?? []);
                return Json(HttpStatusCode.OK, Counts(caller));
            case ("PUT", "/v1/keys/delivery"):
                _deliveryVerifiers[caller] = Read<DeliveryKeyRequest>(body).Verifier;
                return new HttpResponseMessage(HttpStatusCode.NoContent);
            case ("GET", "/v1/keys/count"):
                return Json(HttpStatusCode.OK, Counts(caller));
            case ("PUT", "/v1/devices"):
                _deviceLists[caller] = Read<DeviceListRecord>(body);
                return new HttpResponseMessage(HttpStatusCode.NoContent);
            case ("GET", _) when path.StartsWith("/v1/accounts/", StringComparison.Ordinal) && path.EndsWith("/devices", StringComparison.Ordinal):
                return _deviceLists.TryGetValue(path.Split('/')[3], out var list)
                    ? Json(HttpStatusCode.OK, list)
                    : Problem(HttpStatusCode.NotFound, ProblemTypes.NotFound, "The account has published no device list.");
            case ("GET", _) when path.StartsWith("/v1/keys/", StringComparison.Ordinal):
                // One device per account here: every device id hands out the account's bundle.
                var owner = path["/v1/keys/".Length..].Split('/')[0];
                return _accounts.ContainsKey(owner)
                    ? Json(HttpStatusCode.OK, Bundle(owner))
                    : Problem(HttpStatusCode.NotFound, ProblemTypes.AccountNotFound, "No account has this id.");
            case ("POST", "/v1/messages"):
                return Deposit(Read<DepositRequest>(body).Envelopes);
            case ("GET", "/v1/messages"):
                var own = Mailbox(caller);
                var acknowledged = (query.GetValues("ack") ?? []).Sum(id => own.RemoveAll(e => e.MessageId == Guid.Parse(id)));
                var after = long.Parse(query["after"] ?? "0", System.Globalization.CultureInfo.InvariantCulture);
                var max = query["max"] is { } given ? int.Parse(given, System.Globalization.CultureInfo.InvariantCulture) : ReceiveBatch;
                var waiting = own.Where(e => e.Sequence > after).OrderBy(e => e.Sequence).ToList();
                return Json(HttpStatusCode.OK, new ReceiveResponse([.. waiting.Take(max)], waiting.Count > max, acknowledged));
            case ("POST", "/v1/messages/ack"):
                var ack = Read<AckRequest>(body);
                var mine = Mailbox(caller);
                return Json(HttpStatusCode.OK, new AckResponse(ack.MessageIds.Sum(id => mine.RemoveAll(e => e.MessageId == id))));
            default:
                return Problem(HttpStatusCode.NotFound, ProblemTypes.NotFound, "No such route.");
        }
    }

    private HttpResponseMessage Deposit(IReadOnlyList<OutgoingEnvelope> envelopes)
    {
        if (envelopes.FirstOrDefault(e => !_accounts.ContainsKey(e.Recipient)) is { } unknown)
        {
            return Problem(HttpStatusCode.NotFound, ProblemTypes.AccountNotFound, $"No account has the id {unknown.Recipient}.");
        }

        var receipts = new List<DepositReceiptDto>();
        foreach (var envelope in envelopes)
        {
            Lifetimes[envelope.MessageId] = envelope.LifetimeSeconds;
            var mailbox = Mailbox(envelope.Recipient);
            var stored = mailbox.Find(e => e.MessageId == envelope.MessageId);
            if (stored is null)
            {
                stored = new IncomingEnvelope(envelope.MessageId, ++_sequence, envelope.Payload, DateTimeOffset.UtcNow);
                mailbox.Add(stored);
            }

            receipts.Add(new DepositReceiptDto(envelope.Recipient, stored.MessageId, stored.Sequence, stored.DepositedAt));
        }

        return Json(HttpStatusCode.OK, new DepositResponse(receipts));
    }

    private PrekeyBundleResponse Bundle(string accountId)
    {
        var held = PrekeysOf(accountId);
        var identity = _accounts[accountId];
        var oneTime = Take(held.OneTime);
        var kem = Take(held.OneTimeKem);
        return new PrekeyBundleResponse(accountId, new IdentityDto(identity.SigningKey, identity.AgreementKey, identity.AgreementKeySignature),
            held.Signed!, oneTime, kem ?? held.LastResort!, kem is null);
    }

    private static PrekeyDto? Take(List<PrekeyDto> pool)
    {
        if (pool.Count == 0)
        {
            return null;
        }

        var lowest = pool.MinBy(p => p.Id)!;
        pool.Remove(lowest);
        return lowest;
    }

    private PrekeyCountsResponse Counts(string accountId)
    {
        var held = PrekeysOf(accountId);
        return new PrekeyCountsResponse(held.OneTime.Count, held.OneTimeKem.Count, held.Signed is not null, held.LastResort is not null,
            held.OneTime.Count > 0 ? held.OneTime.Min(p => p.Id) : null, held.OneTimeKem.Count > 0 ? held.OneTimeKem.Min(p => p.Id) : null);
    }

    private Prekeys PrekeysOf(string accountId) => _prekeys.TryGetValue(accountId, out var held) ? held : _prekeys[accountId] = new Prekeys();

    private List<IncomingEnvelope> Mailbox(string accountId) => _mailboxes.TryGetValue(accountId, out var mailbox) ? mailbox : _mailboxes[accountId] = [];

    private static string Key(string accountId, byte[] challenge) => accountId + ":" + Convert.ToHexString(challenge);

    private static T Read<T>(byte[]? body) => System.Text.Json.JsonSerializer.Deserialize(body, PigeonJson.TypeInfo<T>())!;

    private static HttpResponseMessage Json<T>(HttpStatusCode status, T value) => new(status)
    {
        Content = JsonContent.Create(value, (JsonTypeInfo<T>)PigeonJson.TypeInfo<T>()),
    };

    private sealed class Prekeys
    {
        public PrekeyDto? Signed { get; set; }

        public PrekeyDto? LastResort { get; set; }

        public List<PrekeyDto> OneTime { get; } = [];

        public List<PrekeyDto> OneTimeKem { get; } = [];
    }
}
