using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Pigeon.Client.Cli;
using Pigeon.Protocol.Identity;
using Pigeon.Protocol.Prekeys;
using Polly;
using Polly.Retry;

namespace Pigeon.Client.Api;

/// <summary>The server refused a request: an RFC 9457 problem with a stable <see cref="Type"/>.</summary>
public sealed class GatewayProblemException(HttpStatusCode status, string? type, string message) : Exception(message)
{
    /// <summary>The HTTP status.</summary>
    public HttpStatusCode Status { get; } = status;

    /// <summary>The problem type, e.g. <c>urn:pigeon:problem:account-not-found</c>.</summary>
    public string? Type { get; } = type;
}

/// <summary>
/// The gateway's HTTP API for one account. Transient failures (no connection, timeouts, 429, 502–504)
/// are retried by a Polly pipeline with jittered exponential backoff, honouring <c>Retry-After</c>;
/// every call is safe to repeat (deposits are idempotent on their message id). The bearer token lives in memory
/// only: fetched by challenge–response on first use and again when the server says it expired.
/// </summary>
internal sealed class GatewayClient : IDisposable
{
    /// <summary>The problem type prefix of the gateway.</summary>
    public const string ProblemPrefix = "urn:pigeon:problem:";

    /// <summary>
    /// The most ids one long-poll carries in <c>ack</c>: the gateway's default receive batch, which is
    /// also its limit on <c>ack</c>. More go to <c>POST /v1/messages/ack</c>.
    /// </summary>
    public const int MaxAcksPerPoll = 100;

    /// <summary>The most ids one <c>POST /v1/messages/ack</c> carries (the gateway's default limit).</summary>
    public const int MaxAcksPerRequest = 1_000;

    /// <summary>The JSON shape of the API: camelCase, nulls left out.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private static readonly TimeSpan MaxRetryAfter = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);
    private readonly HttpClient _http;
    private readonly CliContext _context;
    private readonly IdentityKeyPair? _identity;
    private readonly SemaphoreSlim _tokenLock = new(1, 1);
    private readonly ResiliencePipeline<HttpResponseMessage> _retries;
    private string? _token;

    /// <summary>A client for <paramref name="server"/>; <paramref name="identity"/> (not owned) signs in when a call needs it.</summary>
    public GatewayClient(Uri server, CliContext context, IdentityKeyPair? identity)
    {
        _context = context;
        _identity = identity;
        _http = new HttpClient(context.CreateHttpHandler(), disposeHandler: true)
        {
            BaseAddress = server,
            Timeout = Timeout.InfiniteTimeSpan,
        };
        Server = server;
        _retries = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = context.Time }
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = Math.Max(0, context.MaxAttempts - 1),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = context.RetryBaseDelay,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome switch
                {
                    { Exception: HttpRequestException } => true,
                    // A per-attempt timeout, not the caller giving up.
                    { Exception: OperationCanceledException } => !args.Context.CancellationToken.IsCancellationRequested,
                    { Result: { } response } => IsTransient(response.StatusCode),
                    _ => false,
                }),
                DelayGenerator = args => ValueTask.FromResult(args.Outcome.Result is { } response ? RetryAfter(response) : null),
                OnRetry = args =>
                {
                    args.Outcome.Result?.Dispose();
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    /// <summary>The server's base address.</summary>
    public Uri Server { get; }

    /// <summary>Registers the identity (idempotent for the same keys).</summary>
    public Task<AccountResponse> RegisterAsync(PublicIdentity identity, CancellationToken ct) =>
        SendAsync<AccountResponse>(HttpMethod.Post, "v1/accounts",
            new RegisterAccountRequest(identity.AccountId, identity.SigningKey, identity.AgreementKey, identity.AgreementKeySignature),
            authenticated: false, TimeSpan.Zero, ct);

    /// <summary>Signs in now if there is no token yet: proves the server is reachable and knows us.</summary>
    public async Task EnsureTokenAsync(CancellationToken ct) => await TokenAsync(renew: false, ct);

    /// <summary>Publishes prekeys.</summary>
    public Task<PrekeyCountsResponse> UploadPrekeysAsync(UploadPrekeysRequest request, CancellationToken ct) =>
        SendAsync<PrekeyCountsResponse>(HttpMethod.Put, "v1/keys", request, authenticated: true, TimeSpan.Zero, ct);

    /// <summary>How many of our prekeys the server still holds.</summary>
    public Task<PrekeyCountsResponse> CountPrekeysAsync(CancellationToken ct) =>
        SendAsync<PrekeyCountsResponse>(HttpMethod.Get, "v1/keys/count", null, authenticated: true, TimeSpan.Zero, ct);

    /// <summary>Fetches an account's bundle (unverified: the caller checks it against the id).</summary>
    public async Task<PrekeyBundle> FetchBundleAsync(string accountId, CancellationToken ct)
    {
        var response = await SendAsync<PrekeyBundleResponse>(HttpMethod.Get, $"v1/keys/{Uri.EscapeDataString(accountId)}", null, authenticated: true, TimeSpan.Zero, ct);
        return new PrekeyBundle(
            new PublicIdentity(response.Identity.SigningKey, response.Identity.AgreementKey, response.Identity.AgreementKeySignature),
            new SignedPrekey(response.SignedPrekey.Id, response.SignedPrekey.PublicKey, response.SignedPrekey.Signature ?? []),
            response.OneTimePrekey is { } oneTime ? new OneTimePrekey(oneTime.Id, oneTime.PublicKey) : null,
            new MlKemPrekey(response.KemPrekey.Id, response.KemPrekey.PublicKey, response.KemPrekey.Signature ?? [], response.KemPrekeyIsLastResort));
    }

    /// <summary>Deposits envelopes; safe to repeat with the same message ids.</summary>
    public Task<DepositResponse> DepositAsync(IReadOnlyList<OutgoingEnvelope> envelopes, CancellationToken ct) =>
        SendAsync<DepositResponse>(HttpMethod.Post, "v1/messages", new DepositRequest(envelopes), authenticated: true, TimeSpan.Zero, ct);

    /// <summary>
    /// Long-polls our mailbox for envelopes after <paramref name="after"/>, waiting up to <paramref name="wait"/>;
    /// the server first deletes the envelopes in <paramref name="acknowledge"/> (at most <see cref="MaxAcksPerPoll"/>).
    /// A retry repeats the acknowledgement, which is harmless: deleting twice deletes nothing more.
    /// </summary>
    public Task<ReceiveResponse> ReceiveAsync(long after, TimeSpan wait, IReadOnlyCollection<Guid> acknowledge, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(acknowledge.Count, MaxAcksPerPoll);
        var seconds = (int)Math.Clamp(wait.TotalSeconds, 0, 25);
        var path = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"v1/messages?after={after}&wait={seconds}"));
        foreach (var id in acknowledge)
        {
            path.Append("&ack=").Append(id.ToString("D"));
        }
        return SendAsync<ReceiveResponse>(HttpMethod.Get, path.ToString(), null, authenticated: true, TimeSpan.FromSeconds(seconds), ct);
    }

    /// <summary>Deletes received envelopes from our mailbox.</summary>
    public Task<AckResponse> AckAsync(IReadOnlyList<Guid> messageIds, CancellationToken ct) =>
        SendAsync<AckResponse>(HttpMethod.Post, "v1/messages/ack", new AckRequest(messageIds), authenticated: true, TimeSpan.Zero, ct);

    public void Dispose()
    {
        _http.Dispose();
        _tokenLock.Dispose();
    }

    private async Task<string> TokenAsync(bool renew, CancellationToken ct)
    {
        await _tokenLock.WaitAsync(ct);
        try
        {
            if (renew)
            {
                _token = null;
            }
            if (_token is { } current)
            {
                return current;
            }
            var identity = _identity ?? throw new InvalidOperationException("This client has no identity to sign in with.");
            for (var attempt = 1; ; attempt++)
            {
                var challenge = await SendAsync<ChallengeResponse>(HttpMethod.Post, "v1/auth/challenge", new ChallengeRequest(identity.AccountId),
                    authenticated: false, TimeSpan.Zero, ct);
                var signature = identity.SignAuthChallenge(identity.AccountId, challenge.Challenge);
                try
                {
                    var token = await SendAsync<TokenResponse>(HttpMethod.Post, "v1/auth/token", new TokenRequest(identity.AccountId, challenge.Challenge, signature),
                        authenticated: false, TimeSpan.Zero, ct);
                    _token = token.Token;
                    return token.Token;
                }
                // A challenge is single-use: when the answer to a token request is lost, its retry
                // finds the challenge spent, and only a new challenge can succeed. Once, so a
                // signature the server really refuses is reported rather than retried forever.
                catch (GatewayProblemException problem) when (attempt == 1 && problem.Type == ProblemPrefix + "challenge-failed")
                {
                }
            }
        }
        finally
        {
            _tokenLock.Release();
        }
    }

    private async Task<T> SendAsync<T>(HttpMethod method, string path, object? body, bool authenticated, TimeSpan serverWait, CancellationToken ct)
    {
        var renewed = false;
        while (true)
        {
            HttpResponseMessage response;
            try
            {
                response = await _retries.ExecuteAsync(async token =>
                {
                    using var request = new HttpRequestMessage(method, path);
                    if (body is not null)
                    {
                        // Serialised up front so the request carries a Content-Length rather than a chunked body.
                        request.Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body, body.GetType(), Json))
                        {
                            Headers = { ContentType = new("application/json") { CharSet = "utf-8" } },
                        };
                    }
                    if (authenticated)
                    {
                        request.Headers.Authorization = new("Bearer", await TokenAsync(renew: false, token));
                    }
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
                    timeout.CancelAfter(RequestTimeout + serverWait);
                    return await _http.SendAsync(request, timeout.Token);
                }, ct);
            }
            catch (Exception exception) when (exception is HttpRequestException or OperationCanceledException && !ct.IsCancellationRequested)
            {
                throw new CliException(ExitCodes.ServerUnreachable,
                    $"Cannot reach the server at {Server}: {Describe(exception)}. Check the address and your connection, then try again.", exception);
            }
            using (response)
            {
                if (response.IsSuccessStatusCode)
                {
                    return await response.Content.ReadFromJsonAsync<T>(Json, ct)
                        ?? throw new CliException(ExitCodes.ServerRefused, $"The server at {Server} sent an empty answer to {method} /{path}.");
                }
                var problem = await ReadProblemAsync(response, ct);
                if (authenticated && response.StatusCode == HttpStatusCode.Unauthorized && !renewed
                    && problem?.Type is ProblemPrefix + "token-expired" or ProblemPrefix + "token-invalid" or ProblemPrefix + "token-missing")
                {
                    renewed = true;
                    await TokenAsync(renew: true, ct);
                    continue;
                }
                if (IsTransient(response.StatusCode))
                {
                    throw new CliException(ExitCodes.ServerUnreachable,
                        $"The server at {Server} is unavailable ({(int)response.StatusCode}{(problem?.Title is { } t ? ": " + t : "")}). Try again later.");
                }
                throw new GatewayProblemException(response.StatusCode, problem?.Type,
                    problem?.Detail ?? problem?.Title ?? $"{(int)response.StatusCode} {response.ReasonPhrase}");
            }
        }
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        var delay = header?.Delta ?? (header?.Date is { } date ? date - DateTimeOffset.UtcNow : null);
        return delay is { } d ? TimeSpan.FromTicks(Math.Clamp(d.Ticks, 0, MaxRetryAfter.Ticks)) : null;
    }

    private static bool IsTransient(HttpStatusCode status) =>
        status is HttpStatusCode.TooManyRequests or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout;

    private static async Task<ProblemDto?> ReadProblemAsync(HttpResponseMessage response, CancellationToken ct)
    {
        try
        {
            return await response.Content.ReadFromJsonAsync<ProblemDto>(Json, ct);
        }
        catch (Exception exception) when (exception is JsonException or NotSupportedException or InvalidOperationException)
        {
            return null;
        }
    }

    private static string Describe(Exception exception) => exception switch
    {
        OperationCanceledException => "the request timed out",
        HttpRequestException { InnerException: { } inner } => inner.Message,
        _ => exception.Message,
    };
}
