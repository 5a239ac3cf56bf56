using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Pigeon.Api;

/// <summary>
/// Who a client signs in as: the account id, and what signs the bytes it is given with the account's
/// identity key (Pigeon.Protocol's <c>IdentityKeyPair.SignAuthChallenge</c>). The client hands it the
/// challenge bound to the server's origin (<see cref="ChallengeBinding"/>), never the bare challenge.
/// </summary>
/// <param name="AccountId">The account.</param>
/// <param name="SignChallenge">Signs the bound challenge: with the device's own key, or the identity key for device 1 of an account that has published no device list.</param>
/// <param name="DeviceId">The device signing in.</param>
public sealed record ApiCredentials(string AccountId, Func<byte[], byte[]> SignChallenge, uint DeviceId = 1);

/// <summary>
/// The API for one account, over an <see cref="HttpClient"/> whose <c>BaseAddress</c> is the gateway
/// (ending in <c>/</c>). Routes that need a bearer token get one by challenge–response on first use,
/// and again, once per call, when the server says the token is missing, invalid or expired. The token
/// lives in memory only.
/// <para>
/// An error answer is a <see cref="PigeonApiException"/>; not reaching the server stays an
/// <see cref="HttpRequestException"/>, and no answer within <see cref="RequestTimeout"/> (beyond what
/// a receive asked the server to wait) a <see cref="TimeoutException"/>. Nothing is retried here:
/// every call is safe to repeat (deposits are idempotent on their message id), and the caller's
/// handlers decide whether to. Thread-safe.
/// </para>
/// </summary>
public sealed class PigeonApiClient : IDisposable
{
    /// <summary>
    /// How long the server was asked to wait for this request (a long-poll's <c>wait</c>; zero
    /// otherwise), set on every request so that handlers underneath can size their own timeouts.
    /// </summary>
    public static readonly HttpRequestOptionsKey<TimeSpan> ServerWait = new("Pigeon.ServerWait");

    /// <summary>
    /// Set on a request whose answer is streamed to its destination (an attachment's download): a
    /// handler must not buffer its body, and bounds only the wait for its head.
    /// </summary>
    public static readonly HttpRequestOptionsKey<bool> StreamedAnswer = new("Pigeon.StreamedAnswer");

    private readonly HttpClient _http;
    private readonly bool _disposeHttpClient;
    private readonly ApiCredentials? _credentials;
    private readonly SemaphoreSlim _signInLock = new(1, 1);
    private volatile string? _token;

    /// <summary>A client over <paramref name="http"/>; with <paramref name="credentials"/> it signs in by itself.</summary>
    public PigeonApiClient(HttpClient http, ApiCredentials? credentials = null, bool disposeHttpClient = false)
    {
        ArgumentNullException.ThrowIfNull(http);
        _http = http;
        _credentials = credentials;
        _disposeHttpClient = disposeHttpClient;
    }

    /// <summary>
    /// How long a request may take beyond the wait it asked of the server; <see cref="Timeout.InfiniteTimeSpan"/>
    /// when a handler underneath bounds each attempt itself. Default 30 s.
    /// </summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a download's body may bring no byte before the download counts as cut off (a
    /// <see cref="TimeoutException"/>; what arrived stays written, so it resumes from there). Default 60 s.
    /// </summary>
    public TimeSpan DownloadIdleTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The bearer token the next authenticated request carries; set it to use one issued earlier.</summary>
    public string? Token
    {
        get => _token;
        set => _token = value;
    }

    /// <summary><c>POST /v1/accounts</c>: registers an identity (idempotent for the same keys).</summary>
    public Task<AccountResponse> RegisterAsync(RegisterAccountRequest request, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Post, "v1/accounts", Body(request), PigeonJson.TypeInfo<AccountResponse>(), authenticated: false, TimeSpan.Zero, ct);

    /// <summary>
    /// Signs in now unless a token is held: a challenge, signed with the credentials, exchanged for a
    /// token. A challenge is single-use, so when the token request finds it spent or expired (its
    /// answer was lost and the request repeated, say) the flow starts over, once.
    /// </summary>
    public async Task SignInAsync(CancellationToken ct = default) => await TokenAsync(stale: null, ct);

    /// <summary><c>PUT /v1/keys</c>: publishes prekeys.</summary>
    public Task<PrekeyCountsResponse> UploadPrekeysAsync(UploadPrekeysRequest request, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Put, "v1/keys", Body(request), PigeonJson.TypeInfo<PrekeyCountsResponse>(), authenticated: true, TimeSpan.Zero, ct);

    /// <summary><c>GET /v1/keys/count</c>: how many of the account's prekeys the server still holds.</summary>
    public Task<PrekeyCountsResponse> CountPrekeysAsync(CancellationToken ct = default) =>
        SendAsync(HttpMethod.Get, "v1/keys/count", null, PigeonJson.TypeInfo<PrekeyCountsResponse>(), authenticated: true, TimeSpan.Zero, ct);

    /// <summary><c>GET /v1/keys/{accountId}/{deviceId}</c>: the bundle of one of another account's devices, unverified (the caller checks it against the id).</summary>
    public Task<PrekeyBundleResponse> FetchBundleAsync(string accountId, uint deviceId, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Get, string.Create(CultureInfo.InvariantCulture, $"v1/keys/{Uri.EscapeDataString(accountId)}/{deviceId}"), null,
            PigeonJson.TypeInfo<PrekeyBundleResponse>(), authenticated: true, TimeSpan.Zero, ct);

    /// <summary><c>POST /v1/provisioning</c>: a new provisioning slot, for a device that is being linked (no token).</summary>
    public Task<ProvisioningSlotResponse> CreateProvisioningSlotAsync(CancellationToken ct = default) =>
        SendAsync(HttpMethod.Post, "v1/provisioning", null, PigeonJson.TypeInfo<ProvisioningSlotResponse>(), authenticated: false, TimeSpan.Zero, ct);

    /// <summary>
    /// <c>GET /v1/provisioning/{slotId}?wait=</c>: what an existing device put in the slot, taken once
    /// (the slot is spent); null when the wait ended first. An unknown, expired or spent slot is a 404.
    /// </summary>
    public async Task<byte[]?> TakeProvisioningAsync(Guid slotId, TimeSpan wait, CancellationToken ct = default)
    {
        var seconds = (int)Math.Clamp(wait.TotalSeconds, 0, ApiLimits.MaxWaitSeconds);
        var message = await SendAsync(HttpMethod.Get, string.Create(CultureInfo.InvariantCulture, $"v1/provisioning/{slotId:D}?wait={seconds}"), null,
            PigeonJson.TypeInfo<ProvisioningMessage>(), authenticated: false, TimeSpan.FromSeconds(seconds), ct);
        return message?.Payload;
    }

    /// <summary><c>PUT /v1/provisioning/{slotId}</c>: puts the encrypted provisioning message in a new device's slot, once.</summary>
    public Task SendProvisioningAsync(Guid slotId, byte[] payload, CancellationToken ct = default) =>
        SendAsync<object>(HttpMethod.Put, $"v1/provisioning/{slotId:D}", Body(new ProvisioningMessage(payload)), null, authenticated: true, TimeSpan.Zero, ct);

    /// <summary>Stores the account's signed device list (<c>PUT /v1/devices</c>); the server checks the signature and that the version grows.</summary>
    public Task SetDeviceListAsync(DeviceListRecord list, CancellationToken ct = default) =>
        SendAsync<object>(HttpMethod.Put, "v1/devices", Body(list), null, authenticated: true, TimeSpan.Zero, ct);

    /// <summary><c>GET /v1/accounts/{accountId}/devices</c>: another account's signed device list, unverified (the caller checks it).</summary>
    public Task<DeviceListRecord> FetchDeviceListAsync(string accountId, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Get, $"v1/accounts/{Uri.EscapeDataString(accountId)}/devices", null, PigeonJson.TypeInfo<DeviceListRecord>(), authenticated: true, TimeSpan.Zero, ct);

    /// <summary>Registers the verifier of the account's new delivery key (<c>PUT /v1/keys/delivery</c>), revoking the previous key.</summary>
    public Task SetDeliveryKeyVerifierAsync(uint epoch, byte[] verifier, CancellationToken ct = default) =>
        SendAsync<object>(HttpMethod.Put, "v1/keys/delivery", Body(new DeliveryKeyRequest(epoch, verifier)), null, authenticated: true, TimeSpan.Zero, ct);

    /// <summary>
    /// Deposits sealed envelopes without a token (<c>POST /v1/messages/sealed</c>), each authorised by its
    /// recipient's delivery key; 200 means every one is committed.
    /// </summary>
    public Task<DepositResponse> DepositSealedAsync(IReadOnlyList<SealedEnvelope> envelopes, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Post, "v1/messages/sealed", Body(new SealedDepositRequest(envelopes)), PigeonJson.TypeInfo<DepositResponse>(), authenticated: false, TimeSpan.Zero, ct);

    /// <summary><c>POST /v1/messages</c>: deposits envelopes; a 200 means every one is committed.</summary>
    public Task<DepositResponse> DepositAsync(IReadOnlyList<OutgoingEnvelope> envelopes, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Post, "v1/messages", Body(new DepositRequest(envelopes)), PigeonJson.TypeInfo<DepositResponse>(), authenticated: true, TimeSpan.Zero, ct);

    /// <summary>
    /// <c>GET /v1/messages</c>: long-polls the account's mailbox for envelopes after <paramref name="after"/>,
    /// waiting up to <paramref name="wait"/> (whole seconds, at most <see cref="ApiLimits.MaxWaitSeconds"/>);
    /// the server first deletes the envelopes in <paramref name="acknowledge"/> (at most
    /// <see cref="ApiLimits.MaxReceiveBatch"/>). Repeating the call repeats the acknowledgement,
    /// which is harmless: deleting twice deletes nothing more. <paramref name="max"/> null: the server's batch.
    /// </summary>
    public Task<ReceiveResponse> ReceiveAsync(long after, TimeSpan wait, IReadOnlyCollection<Guid>? acknowledge = null, int? max = null,
        CancellationToken ct = default)
    {
        acknowledge ??= [];
        ArgumentOutOfRangeException.ThrowIfGreaterThan(acknowledge.Count, ApiLimits.MaxReceiveBatch, nameof(acknowledge));
        var seconds = (int)Math.Clamp(wait.TotalSeconds, 0, ApiLimits.MaxWaitSeconds);
        var path = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"v1/messages?after={after}&wait={seconds}"));
        if (max is { } batch)
        {
            path.Append(CultureInfo.InvariantCulture, $"&max={batch}");
        }

        foreach (var id in acknowledge)
        {
            path.Append("&ack=").Append(id.ToString("D"));
        }

        return SendAsync(HttpMethod.Get, path.ToString(), null, PigeonJson.TypeInfo<ReceiveResponse>(), authenticated: true, TimeSpan.FromSeconds(seconds), ct);
    }

    /// <summary><c>POST /v1/messages/ack</c>: deletes received envelopes (at most <see cref="ApiLimits.MaxAckBatch"/> ids).</summary>
    public Task<AckResponse> AckAsync(IReadOnlyList<Guid> messageIds, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Post, "v1/messages/ack", Body(new AckRequest(messageIds)), PigeonJson.TypeInfo<AckResponse>(), authenticated: true, TimeSpan.Zero, ct);

    /// <summary><c>POST /v1/attachments</c>: starts an upload of <paramref name="sizeBytes"/> ciphertext bytes, kept at most <paramref name="lifetime"/> when set.</summary>
    public Task<CreateAttachmentResponse> CreateAttachmentAsync(long sizeBytes, TimeSpan? lifetime = null, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Post, "v1/attachments", Body(new CreateAttachmentRequest(sizeBytes, lifetime is { } l ? (int)Math.Ceiling(l.TotalSeconds) : null)),
            PigeonJson.TypeInfo<CreateAttachmentResponse>(), authenticated: true, TimeSpan.Zero, ct);

    /// <summary><c>PUT /v1/attachments/{id}/chunks/{index}</c>: uploads one chunk; sending it again replaces it.</summary>
    public Task UploadAttachmentChunkAsync(Guid attachmentId, int index, byte[] chunk, CancellationToken ct = default) =>
        SendAsync<object>(HttpMethod.Put, string.Create(CultureInfo.InvariantCulture, $"v1/attachments/{attachmentId:D}/chunks/{index}"), chunk, null,
            authenticated: true, TimeSpan.Zero, ct, OctetStream);

    /// <summary><c>GET /v1/attachments/{id}/status</c>: which chunks of an own upload the server still lacks.</summary>
    public Task<AttachmentStatusResponse> AttachmentStatusAsync(Guid attachmentId, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Get, $"v1/attachments/{attachmentId:D}/status", null, PigeonJson.TypeInfo<AttachmentStatusResponse>(), authenticated: true, TimeSpan.Zero, ct);

    /// <summary><c>POST /v1/attachments/{id}/complete</c>: completes an upload once every chunk is there.</summary>
    public Task CompleteAttachmentAsync(Guid attachmentId, CancellationToken ct = default) =>
        SendAsync<object>(HttpMethod.Post, $"v1/attachments/{attachmentId:D}/complete", null, null, authenticated: true, TimeSpan.Zero, ct);

    /// <summary>
    /// <c>GET /v1/attachments/{id}</c> with the capability and no token: writes the ciphertext from byte
    /// <paramref name="offset"/> on to <paramref name="destination"/> as it arrives, and returns how many
    /// bytes were written. <see cref="RequestTimeout"/> bounds the wait for the answer's head, not the transfer.
    /// </summary>
    public async Task<long> DownloadAttachmentAsync(Guid attachmentId, byte[] capability, long offset, Stream destination, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(capability);
        ArgumentNullException.ThrowIfNull(destination);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"v1/attachments/{attachmentId:D}");
        request.Headers.Add(ApiLimits.AttachmentCapabilityHeader, Convert.ToBase64String(capability));
        request.Options.Set(StreamedAnswer, true);
        if (offset > 0)
        {
            request.Headers.Range = new RangeHeaderValue(offset, null);
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (RequestTimeout != Timeout.InfiniteTimeSpan)
        {
            deadline.CancelAfter(RequestTimeout);
        }

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
        }
        catch (OperationCanceledException exception) when (!ct.IsCancellationRequested)
        {
            throw new TimeoutException($"GET /v1/attachments/{attachmentId:D} had no answer in time.", exception);
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                throw await ProblemAsync(response, ct);
            }

            await using var body = await response.Content.ReadAsStreamAsync(ct);
            var written = 0L;
            var buffer = new byte[81920];
            using var idle = CancellationTokenSource.CreateLinkedTokenSource(ct);
            while (true)
            {
                idle.CancelAfter(DownloadIdleTimeout);
                int read;
                try
                {
                    read = await body.ReadAsync(buffer, idle.Token);
                }
                catch (OperationCanceledException exception) when (!ct.IsCancellationRequested)
                {
                    throw new TimeoutException($"GET /v1/attachments/{attachmentId:D} brought no byte for {DownloadIdleTimeout.TotalSeconds:0} s.", exception);
                }

                if (read == 0)
                {
                    return written;
                }

                await destination.WriteAsync(buffer.AsMemory(0, read), ct);
                written += read;
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _signInLock.Dispose();
        if (_disposeHttpClient)
        {
            _http.Dispose();
        }
    }

    // The origin the client signs in to: that of the address it sends to, whatever a server or a relay says.
    private string Origin => ChallengeBinding.OriginOf(_http.BaseAddress
        ?? throw new InvalidOperationException("The HttpClient needs a BaseAddress: the server to sign in to."));

    private async Task<string> TokenAsync(string? stale, CancellationToken ct)
    {
        await _signInLock.WaitAsync(ct);
        try
        {
            if (_token is { } current && current != stale)
            {
                return current;
            }

            var credentials = _credentials ?? throw new InvalidOperationException("This client has no credentials to sign in with, and no token.");
            for (var attempt = 1; ; attempt++)
            {
                var challenge = await SendAsync(HttpMethod.Post, "v1/auth/challenge", Body(new ChallengeRequest(credentials.AccountId)),
                    PigeonJson.TypeInfo<ChallengeResponse>(), authenticated: false, TimeSpan.Zero, ct);
                try
                {
                    var signature = credentials.SignChallenge(ChallengeBinding.Bind(Origin, challenge.Challenge));
                    var signed = new TokenRequest(credentials.AccountId, challenge.Challenge, signature, credentials.DeviceId);
                    var token = await SendAsync(HttpMethod.Post, "v1/auth/token", Body(signed), PigeonJson.TypeInfo<TokenResponse>(),
                        authenticated: false, TimeSpan.Zero, ct);
                    _token = token.Token;
                    return token.Token;
                }
                // Once, so that a signature the server really refuses is reported rather than retried forever.
                catch (PigeonApiException problem) when (attempt == 1 && problem.Type == ProblemTypes.ChallengeFailed)
                {
                }
            }
        }
        finally
        {
            _signInLock.Release();
        }
    }

    private const string OctetStream = "application/octet-stream";

    private async Task<TResponse> SendAsync<TResponse>(HttpMethod method, string path, byte[]? body, JsonTypeInfo<TResponse>? responseType,
        bool authenticated, TimeSpan serverWait, CancellationToken ct, string? mediaType = null)
    {
        var token = authenticated ? await TokenAsync(stale: null, ct) : null;
        for (var renewed = false; ; renewed = true)
        {
            using var request = new HttpRequestMessage(method, path);
            request.Options.Set(ServerWait, serverWait);
            if (body is not null)
            {
                // A byte array rather than a stream, so the request carries a Content-Length rather than a chunked body.
                request.Content = new ByteArrayContent(body)
                {
                    Headers = { ContentType = mediaType is null ? new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" } : new MediaTypeHeaderValue(mediaType) },
                };
            }

            if (token is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }

            using var response = await SendWithinTimeoutAsync(request, serverWait, ct);
            if (response.IsSuccessStatusCode)
            {
                // A route that answers 204 (no content, or a long-poll that ended empty) has nothing to read.
                return responseType is null || response.StatusCode == HttpStatusCode.NoContent ? default! : await ReadAsync(response, responseType, ct);
            }

            var problem = await ProblemAsync(response, ct);
            if (token is not null && !renewed && _credentials is not null
                && response.StatusCode == HttpStatusCode.Unauthorized && ProblemTypes.IsTokenProblem(problem.Type))
            {
                token = await TokenAsync(stale: token, ct);
                continue;
            }

            throw problem;
        }
    }

    private async Task<HttpResponseMessage> SendWithinTimeoutAsync(HttpRequestMessage request, TimeSpan serverWait, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var limit = RequestTimeout == Timeout.InfiniteTimeSpan ? Timeout.InfiniteTimeSpan : RequestTimeout + serverWait;
        deadline.CancelAfter(limit);
        try
        {
            return await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, deadline.Token);
        }
        // The caller did not cancel: this deadline, the HttpClient's own Timeout, or a handler's ran out.
        catch (OperationCanceledException exception) when (!ct.IsCancellationRequested)
        {
            var after = limit == Timeout.InfiniteTimeSpan ? "in time" : string.Create(CultureInfo.InvariantCulture, $"within {limit.TotalSeconds:0} s");
            throw new TimeoutException($"{request.Method} {Route(request)} had no answer {after}.", exception);
        }
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, JsonTypeInfo<T> type, CancellationToken ct)
    {
        try
        {
            return await response.Content.ReadFromJsonAsync(type, ct) ?? throw NotTheApi(response, null);
        }
        catch (Exception exception) when (exception is JsonException or NotSupportedException or InvalidOperationException)
        {
            throw NotTheApi(response, exception);
        }
    }

    private static PigeonApiException NotTheApi(HttpResponseMessage response, Exception? inner) =>
        new(response.StatusCode, null, "The answer is not the API's JSON.",
            $"The answer to {response.RequestMessage?.Method} {Route(response.RequestMessage)} is not the API's JSON.", inner: inner);

    private static async Task<PigeonApiException> ProblemAsync(HttpResponseMessage response, CancellationToken ct)
    {
        ApiProblem? problem = null;
        try
        {
            problem = await response.Content.ReadFromJsonAsync(PigeonJson.TypeInfo<ApiProblem>(), ct);
        }
        // A status alone, from something in front of the gateway, or a body that is no problem.
        catch (Exception exception) when (exception is JsonException or NotSupportedException or InvalidOperationException)
        {
        }

        return new PigeonApiException(response.StatusCode, problem?.Type, problem?.Title, problem?.Detail, PigeonApiException.RetryAfterOf(response),
            devices: problem?.Devices);
    }

    // The path alone: the query of a receive names message ids.
    private static string Route(HttpRequestMessage? request) => request?.RequestUri is { } uri
        ? "/" + (uri.IsAbsoluteUri ? uri.AbsolutePath.TrimStart('/') : uri.OriginalString.Split('?')[0])
        : "?";

    private static byte[] Body<T>(T request) => JsonSerializer.SerializeToUtf8Bytes(request, PigeonJson.TypeInfo<T>());
}
