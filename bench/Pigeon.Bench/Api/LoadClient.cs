using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using Pigeon.Api;
using Pigeon.Bench.Stats;
using Pigeon.Protocol.Delivery;
using Pigeon.Protocol.Devices;
using Pigeon.Protocol.Identity;

namespace Pigeon.Bench.Api;

/// <summary>A request that did not end in a 2xx; <see cref="Key"/> is the status code or a failure kind.</summary>
public sealed class GatewayRequestException(string key, string message, TimeSpan? retryAfter = null, Exception? inner = null)
    : Exception(message, inner)
{
    /// <summary>"429", "500", … or "timeout", "connection".</summary>
    public string Key { get; } = key;

    /// <summary>The server's Retry-After, when it sent one.</summary>
    public TimeSpan? RetryAfter { get; } = retryAfter;
}

/// <summary>
/// The load generator's side of the API: every virtual user has a <see cref="PigeonApiClient"/> of its
/// own (its token) over one shared <see cref="HttpClient"/> with HTTP/1.1 on loopback and one socket
/// per concurrent request, so the pool must be as large as the most requests ever in flight (every
/// idle long-poll holds one). Failures are counted by kind: <see cref="GatewayRequestException.Key"/>.
/// </summary>
public sealed class LoadClient : IDisposable
{
    private readonly HttpClient _http;

    /// <summary>A client of the gateway at <paramref name="server"/> with room for <paramref name="maxConnections"/> sockets.</summary>
    public LoadClient(Uri server, int maxConnections)
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

    /// <summary>A user with a new identity, not yet registered.</summary>
    public VirtualUser NewUser() => new(IdentityKeyPair.Generate(), _http, RequestTimeout);

    /// <summary>Registers the user's identity and signs it in, retrying 429s and 503s a few times (setup, not measured).</summary>
    private static async Task RegisterAndLoginAsync(VirtualUser user, StatusCounter setupErrors, CancellationToken cancellationToken)
    {
        var identity = user.Identity.PublicIdentity;
        var registration = new RegisterAccountRequest(user.AccountId, identity.SigningKey, identity.AgreementKey, identity.AgreementKeySignature);
        await RetryAsync(() => user.Api.RegisterAsync(registration, cancellationToken), "POST /v1/accounts", setupErrors, cancellationToken);
        await RetryAsync(async () =>
        {
            await user.Api.SignInAsync(cancellationToken);
            return true;
        }, "sign-in", setupErrors, cancellationToken);
    }

    /// <summary>Deposits envelopes; 200 means every one is committed.</summary>
    internal Task<DepositResponse> DepositAsync(VirtualUser sender, IReadOnlyList<OutgoingEnvelope> envelopes, CancellationToken cancellationToken) =>
        CountedAsync(() => sender.Api.DepositAsync(envelopes, cancellationToken), "POST /v1/messages");

    /// <summary>Deposits sealed envelopes without a token; 200 means every one is committed.</summary>
    internal Task<DepositResponse> DepositSealedAsync(VirtualUser anyone, IReadOnlyList<SealedEnvelope> envelopes, CancellationToken cancellationToken) =>
        CountedAsync(() => anyone.Api.DepositSealedAsync(envelopes, cancellationToken), "POST /v1/messages/sealed");

    /// <summary>
    /// Long-polls the user's mailbox after its cursor, waiting up to <paramref name="waitSeconds"/>; the
    /// gateway first deletes the envelopes in <paramref name="acknowledge"/> (at most <paramref name="max"/>).
    /// </summary>
    internal Task<ReceiveResponse> ReceiveAsync(VirtualUser user, int waitSeconds, int max, IReadOnlyList<Guid> acknowledge,
        CancellationToken cancellationToken) =>
        CountedAsync(() => user.Api.ReceiveAsync(user.After, TimeSpan.FromSeconds(waitSeconds), acknowledge, max, cancellationToken), "GET /v1/messages");

    /// <summary>Acknowledges (deletes) received envelopes.</summary>
    internal async Task<int> AckAsync(VirtualUser user, IReadOnlyList<Guid> messageIds, CancellationToken cancellationToken) =>
        (await CountedAsync(() => user.Api.AckAsync(messageIds, cancellationToken), "POST /v1/messages/ack")).Acknowledged;

    /// <summary>
    /// Creates <paramref name="count"/> users and registers and logs them in, <paramref name="parallelism"/>
    /// at a time; unless <paramref name="keepIdentities"/>, their private keys are freed once logged in.
    /// With <paramref name="devicesEach"/> above 1 (end to end only) each account then publishes a signed
    /// list of that many devices, and every device signs in with its own key (<see cref="VirtualUser.Devices"/>);
    /// the users returned are the accounts' first devices.
    /// </summary>
    public async Task<List<VirtualUser>> CreateUsersAsync(int count, int parallelism, StatusCounter setupErrors, Action<int>? progress,
        bool keepIdentities, CancellationToken cancellationToken, int devicesEach = 1)
    {
        if (devicesEach > 1 && !keepIdentities)
        {
            throw new ArgumentException("Devices beyond the first are end to end: they need the account's identity.", nameof(devicesEach));
        }

        var users = new VirtualUser[count];
        var done = 0;
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                users[i] = NewUser();
                await RegisterAndLoginAsync(users[i], setupErrors, ct);
                if (keepIdentities)
                {
                    // End to end as the client does it: deposits to the user go sealed with its delivery key.
                    var user = users[i];
                    user.DeliveryKey = DeliveryKey.Generate(1);
                    await RetryAsync(async () =>
                    {
                        await user.Api.SetDeliveryKeyVerifierAsync(user.DeliveryKey.Epoch, user.DeliveryKey.Verifier(user.AccountId), ct);
                        return true;
                    }, "PUT /v1/keys/delivery", setupErrors, ct);
                    if (devicesEach > 1)
                    {
                        await AddDevicesAsync(user, devicesEach, setupErrors, ct);
                    }
                }
                else
                {
                    users[i].ForgetIdentity();
                }

                progress?.Invoke(Interlocked.Increment(ref done));
            });
        return [.. users];
    }

    /// <summary>
    /// What the client does for an account with <paramref name="devices"/> devices (Pigeon.Messaging's
    /// <c>ProfileSession.CreateAsync</c>, then <c>DeviceLinking</c> for each further device): a key per
    /// device, one list naming them all signed by the identity and stored on the server, then each device
    /// signed in with its own key (device 1 anew, as the list now binds it to its key). Every device holds
    /// the identity (a linked device receives it) and the account's delivery key.
    /// </summary>
    private async Task AddDevicesAsync(VirtualUser first, int devices, StatusCounter setupErrors, CancellationToken cancellationToken)
    {
        // Whole milliseconds: the signed encoding carries Unix ms.
        var now = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var keys = Enumerable.Range(0, devices).Select(_ => DeviceKeyPair.Generate()).ToList();
        var list = new DeviceList(first.AccountId, 1, keys.Select((key, i) => new DeviceEntry((uint)(i + 1), now, key.PublicKey)));
        var signature = first.Identity.SignDeviceList(list);
        var record = new DeviceListRecord(list.Version, [.. list.Devices.Select(d => new DeviceRecord(d.DeviceId, d.AddedAt, d.SigningKey))], signature);
        await RetryAsync(async () =>
        {
            await first.Api.SetDeviceListAsync(record, cancellationToken);
            return true;
        }, "PUT /v1/devices", setupErrors, cancellationToken);

        first.UseDeviceKey(keys[0]);
        var all = new List<VirtualUser> { first };
        var serialized = first.Identity.Serialize();
        try
        {
            for (var i = 1; i < devices; i++)
            {
                all.Add(new VirtualUser(IdentityKeyPair.Deserialize(serialized), _http, RequestTimeout, (uint)(i + 1), keys[i]) { DeliveryKey = first.DeliveryKey });
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(serialized);
        }

        foreach (var device in all)
        {
            device.Devices = all;
            await RetryAsync(async () =>
            {
                await device.Api.SignInAsync(cancellationToken);
                return true;
            }, "sign-in", setupErrors, cancellationToken);
        }
    }

    private static async Task<T> RetryAsync<T>(Func<Task<T>> send, string what, StatusCounter setupErrors, CancellationToken cancellationToken)
    {
        const int attempts = 8;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await CountedAsync(send, what);
            }
            catch (GatewayRequestException e) when (attempt < attempts && e.Key is "429" or "503" or "timeout" or "connection")
            {
                setupErrors.Add(e.Key);
                var delay = e.RetryAfter ?? TimeSpan.FromMilliseconds(200 * attempt);
                await Task.Delay(delay + TimeSpan.FromMilliseconds(Random.Shared.Next(100)), cancellationToken);
            }
        }
    }

    // Every way a request can fail, as one exception with the key it is counted under.
    private static async Task<T> CountedAsync<T>(Func<Task<T>> send, string what)
    {
        try
        {
            return await send();
        }
        catch (PigeonApiException e)
        {
            var status = ((int)e.Status).ToString(CultureInfo.InvariantCulture);
            throw new GatewayRequestException(status, $"{status} {what}: {e.Type} {e.Message}", e.RetryAfter, e);
        }
        catch (TimeoutException e)
        {
            throw new GatewayRequestException("timeout", $"{what}: {e.Message}", inner: e);
        }
        catch (HttpRequestException e)
        {
            throw new GatewayRequestException("connection", $"{what}: {e.HttpRequestError}: {e.Message}", inner: e);
        }
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();
}
