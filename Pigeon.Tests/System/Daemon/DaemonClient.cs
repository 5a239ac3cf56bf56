using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace Pigeon.Tests.SystemTier.Daemon;

/// <summary>A JSON-RPC error the daemon answered with.</summary>
public sealed class DaemonError(int code, string message) : Exception(message)
{
    public int Code { get; } = code;
}

/// <summary>
/// A client of <c>pigeon daemon</c> that speaks the wire as docs/daemon.md writes it, by hand: one
/// JSON object per line, requests numbered, notifications queued as they come.
/// </summary>
public sealed class DaemonClient : IAsyncDisposable
{
    private readonly Stream _sending;
    private readonly StreamReader _receiving;
    private readonly IDisposable? _owner;
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonElement>> _pending = new();
    private readonly Channel<(string Method, JsonElement Params)> _notifications = Channel.CreateUnbounded<(string, JsonElement)>();
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Task _reading;
    private int _nextId;

    public DaemonClient(Stream sending, Stream receiving, IDisposable? owner = null)
    {
        _sending = sending;
        _receiving = new StreamReader(receiving, Encoding.UTF8);
        _owner = owner;
        _reading = Task.Run(ReadAsync);
    }

    /// <summary>Every line the daemon sent, for messages.</summary>
    public ConcurrentQueue<string> Received { get; } = new();

    /// <summary>Connects to a daemon's Unix socket.</summary>
    public static async Task<DaemonClient> ConnectAsync(string path, CancellationToken ct)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), ct);
        var stream = new NetworkStream(socket, ownsSocket: true);
        return new DaemonClient(stream, stream, stream);
    }

    /// <summary>Calls a method with named parameters; throws <see cref="DaemonError"/> for an error answer.</summary>
    public async Task<JsonElement> CallAsync(string method, object? parameters = null)
    {
        var id = Interlocked.Increment(ref _nextId);
        var answer = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = answer;
        var request = new JsonObject { ["jsonrpc"] = "2.0", ["id"] = id, ["method"] = method };
        if (parameters is not null)
        {
            request["params"] = JsonSerializer.SerializeToNode(parameters);
        }
        await SendLineAsync(request.ToJsonString());
        var response = await answer.Task.WaitAsync(TimeSpan.FromSeconds(60));
        if (response.TryGetProperty("error", out var error))
        {
            throw new DaemonError(error.GetProperty("code").GetInt32(), error.GetProperty("message").GetString()!);
        }
        return response.GetProperty("result");
    }

    /// <summary>Sends a raw line (for malformed requests).</summary>
    public async Task SendLineAsync(string line)
    {
        await _writeLock.WaitAsync();
        try
        {
            await _sending.WriteAsync(Encoding.UTF8.GetBytes(line + "\n"));
            await _sending.FlushAsync();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Waits for the next notification of <paramref name="method"/> that <paramref name="matches"/>; others are skipped.</summary>
    public async Task<JsonElement> NextAsync(string method, Func<JsonElement, bool>? matches = null, int timeoutSeconds = 60)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
        try
        {
            while (true)
            {
                var (name, parameters) = await _notifications.Reader.ReadAsync(timeout.Token);
                if (name == method && (matches is null || matches(parameters)))
                {
                    return parameters;
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"No '{method}' notification within {timeoutSeconds} s; received:\n{string.Join('\n', Received)}");
        }
    }

    /// <summary>Closes the connection, as an integration that crashed would.</summary>
    public async ValueTask DisposeAsync()
    {
        _owner?.Dispose();
        if (_owner is null)
        {
            await _sending.DisposeAsync();
        }
        await _reading.WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(_ => { }, TaskScheduler.Default);
        _receiving.Dispose();
        _writeLock.Dispose();
    }

    private async Task ReadAsync()
    {
        try
        {
            while (await _receiving.ReadLineAsync() is { } line)
            {
                Received.Enqueue(line);
                var message = JsonDocument.Parse(line).RootElement.Clone();
                if (message.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.Number && _pending.TryRemove(id.GetInt32(), out var answer))
                {
                    answer.SetResult(message);
                }
                else if (message.TryGetProperty("method", out var method))
                {
                    await _notifications.Writer.WriteAsync((method.GetString()!, message.TryGetProperty("params", out var p) ? p : default));
                }
            }
        }
        catch (Exception exception) when (exception is IOException or ObjectDisposedException)
        {
            // Closed.
        }
        _notifications.Writer.TryComplete();
    }
}
