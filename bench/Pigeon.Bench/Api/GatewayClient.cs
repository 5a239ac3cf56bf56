using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Pigeon.Bench.Stats;
using Pigeon.Protocol.Identity;

namespace Pigeon.Bench.Api;

/// <summary>A request that did not end in a 2xx; <see cref="Key"/> is the status code or a failure kind.</summary>
public sealed class GatewayRequestException(string key, string message, TimeSpan? retryAfter = null, Exception? inner = null)
    : Exception(message, inner)
{
    /// <summary>"429", "500", … or "timeout", "connection", "canceled".</summary>
    public string Key { get; } = key;

    /// <summary>The server's Retry-After, when it sent one.</summary>
    public TimeSpan? RetryAfter { get; } = retryAfter;
}

/// <summary>
/// The gateway's HTTP API over one pooled <see cref="HttpClient"/>: HTTP/1.1 on loopback, one socket
/// per concurrent request, so the pool must be as large as the most requests ever in flight (every
/// idle long-poll holds one).
/// </summary>
public sealed class GatewayClient : IDisposable
{
    private readonly HttpClient _http;

    /// <summary>A client of the gateway at <paramref name="server"/> with room for <paramref name="maxConnections"/> sockets.</summary>
    public GatewayClient(Uri server, int maxConnections)
    {
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = maxConnections,
            // Long enough that a run never reconnects, short enough to follow a restarted gateway.
            PooledConnectionLifetime = TimeSpan.FromMinutes(10),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
            ConnectTimeout = TimeSpan.FromSeconds(10),
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            UseProxy = false,
        };
        _http = new HttpClient(handler)
        {
            BaseAddress = server,
            Timeout = Timeout.InfiniteTimeSpan,
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }

    /// <summary>How long any request but a long-poll may take before it counts as a timeout.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Registers the user's identity and logs it in, retrying 429s and 503s a few times (setup, not measured).</summary>
    public async Task RegisterAndLoginAsync(VirtualUser user, StatusCounter setupErrors, CancellationToken cancellationToken)
    {
        var identity = user.Identity.PublicIdentity;
        await RetryAsync(() => SendAsync(HttpMethod.Post, "/v1/accounts", null,
            new RegisterAccountRequest(user.AccountId, identity.SigningKey, identity.AgreementKey, identity.AgreementKeySignature),
            WireJson.Default.RegisterAccountRequest, WireJson.Default.TokenResponse, RequestTimeout, cancellationToken, readBody: false), setupErrors, cancellationToken);
        await LoginAsync(user, setupErrors, cancellationToken);
    }

    /// <summary>Answers a fresh challenge and keeps the token.</summary>
    public async Task LoginAsync(VirtualUser user, StatusCounter setupErrors, CancellationToken cancellationToken)
    {
        var challenge = await RetryAsync(() => SendAsync(HttpMethod.Post, "/v1/auth/challenge", null, new ChallengeRequest(user.AccountId),
            WireJson.Default.ChallengeRequest, WireJson.Default.ChallengeResponse, RequestTimeout, cancellationToken), setupErrors, cancellationToken);
        var signature = user.Identity.SignAuthChallenge(user.AccountId, challenge!.Challenge);
        var token = await RetryAsync(() => SendAsync(HttpMethod.Post, "/v1/auth/token", null,
            new TokenRequest(user.AccountId, challenge.Challenge, signature),
            WireJson.Default.TokenRequest, WireJson.Default.TokenResponse, RequestTimeout, cancellationToken), setupErrors, cancellationToken);
        user.Token = token!.Token;
    }

    /// <summary>Deposits envelopes; 200 means every one is committed.</summary>
    internal async Task<DepositResponse> DepositAsync(VirtualUser sender, IReadOnlyList<OutgoingEnvelope> envelopes, CancellationToken cancellationToken) =>
        (await SendAsync(HttpMethod.Post, "/v1/messages", sender.Token, new DepositRequest(envelopes),
            WireJson.Default.DepositRequest, WireJson.Default.DepositResponse, RequestTimeout, cancellationToken))!;

    /// <summary>
    /// Long-polls the user's mailbox after its cursor, waiting up to <paramref name="waitSeconds"/>; the
    /// gateway first deletes the envelopes in <paramref name="acknowledge"/> (at most <paramref name="max"/>).
    /// </summary>
    internal async Task<ReceiveResponse> ReceiveAsync(VirtualUser user, int waitSeconds, int max, IReadOnlyList<Guid> acknowledge,
        CancellationToken cancellationToken)
    {
        var path = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"/v1/messages?after={user.After}&wait={waitSeconds}&max={max}"));
        foreach (var id in acknowledge)
        {
            path.Append("&ack=").Append(id.ToString("D"));
        }

        return (await SendAsync<object, ReceiveResponse>(HttpMethod.Get, path.ToString(), user.Token, null,
            null, WireJson.Default.ReceiveResponse, TimeSpan.FromSeconds(waitSeconds) + RequestTimeout, cancellationToken))!;
    }

    /// <summary>Acknowledges (deletes) received envelopes.</summary>
    internal async Task<int> AckAsync(VirtualUser user, IReadOnlyList<Guid> messageIds, CancellationToken cancellationToken) =>
        (await SendAsync(HttpMethod.Post, "/v1/messages/ack", user.Token, new AckRequest(messageIds),
            WireJson.Default.AckRequest, WireJson.Default.AckResponse, RequestTimeout, cancellationToken))!.Acknowledged;

    /// <summary>
    /// Creates <paramref name="count"/> users and registers and logs them in, <paramref name="parallelism"/>
    /// at a time; unless <paramref name="keepIdentities"/>, their private keys are freed once logged in.
    /// </summary>
    public async Task<List<VirtualUser>> CreateUsersAsync(int count, int parallelism, StatusCounter setupErrors, Action<int>? progress,
        bool keepIdentities, CancellationToken cancellationToken)
    {
        var users = new VirtualUser[count];
        var done = 0;
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                users[i] = new VirtualUser(IdentityKeyPair.Generate());
                await RegisterAndLoginAsync(users[i], setupErrors, ct);
                if (!keepIdentities)
                {
                    users[i].ForgetIdentity();
                }

                progress?.Invoke(Interlocked.Increment(ref done));
            });
        return [.. users];
    }

    private static async Task<T?> RetryAsync<T>(Func<Task<T?>> send, StatusCounter setupErrors, CancellationToken cancellationToken)
    {
        const int attempts = 8;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await send();
            }
            catch (GatewayRequestException e) when (attempt < attempts && e.Key is "429" or "503" or "timeout" or "connection")
            {
                setupErrors.Add(e.Key);
                var delay = e.RetryAfter ?? TimeSpan.FromMilliseconds(200 * attempt);
                await Task.Delay(delay + TimeSpan.FromMilliseconds(Random.Shared.Next(100)), cancellationToken);
            }
        }
    }

    // Serialised up front so the request carries a Content-Length: JsonContent streams the body
    // chunked, which costs both ends a chunked encoder and decoder per request.
    private static ByteArrayContent JsonBody<T>(T body, JsonTypeInfo<T> type)
    {
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body, type));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        return content;
    }

    private async Task<TResponse?> SendAsync<TRequest, TResponse>(
        HttpMethod method, string path, string? token, TRequest? body,
        JsonTypeInfo<TRequest>? requestType, JsonTypeInfo<TResponse> responseType, TimeSpan timeout,
        CancellationToken cancellationToken, bool readBody = true)
    {
        using var message = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (body is not null && requestType is not null)
        {
            message.Content = JsonBody(body, requestType);
        }

        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        try
        {
            using var response = await _http.SendAsync(message, HttpCompletionOption.ResponseContentRead, timeoutSource.Token);
            if (!response.IsSuccessStatusCode)
            {
                var status = ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
                throw new GatewayRequestException(status, $"{status} {method} {path}: {await ReadSnippetAsync(response)}",
                    response.Headers.RetryAfter?.Delta);
            }

            return readBody ? await response.Content.ReadFromJsonAsync(responseType, timeoutSource.Token) : default;
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new GatewayRequestException("timeout", $"{method} {path} took longer than {timeout.TotalSeconds:0} s", inner: e);
        }
        catch (HttpRequestException e) when (e.InnerException is SocketException or IOException || e.HttpRequestError is not HttpRequestError.Unknown)
        {
            throw new GatewayRequestException("connection", $"{method} {path}: {e.HttpRequestError}: {e.Message}", inner: e);
        }
    }

    private static async Task<string> ReadSnippetAsync(HttpResponseMessage response)
    {
        try
        {
            var text = await response.Content.ReadAsStringAsync();
            return text.Length > 300 ? text[..300] : text;
        }
        catch (HttpRequestException)
        {
            return "(no body)";
        }
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();
}
