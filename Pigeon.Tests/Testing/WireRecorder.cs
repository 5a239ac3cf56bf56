using System.Net;
using System.Net.Sockets;

namespace Pigeon.Tests.Testing;

/// <summary>
/// A TCP relay on loopback between clients and a server that keeps every byte it carries, both ways,
/// in a capture file: what a network observer between them would record (a capture without the
/// packet headers). Tests search it for what must never be on the wire.
/// </summary>
public sealed class WireRecorder : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Uri _target;
    private readonly FileStream _capture;
    private readonly Lock _captureLock = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _relays = [];
    private readonly Task _accepting;

    /// <summary>Relays to <paramref name="target"/> (an <c>http://</c> address) and records into a new temporary file.</summary>
    public WireRecorder(Uri target)
    {
        _target = target;
        CapturePath = Path.Combine(Path.GetTempPath(), $"pigeon-wire-{Guid.NewGuid():N}.bin");
        _capture = new FileStream(CapturePath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>Where clients connect instead of the target.</summary>
    public Uri Address => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");

    /// <summary>The capture file.</summary>
    public string CapturePath { get; }

    /// <summary>How many bytes were carried so far, both ways.</summary>
    public long Recorded
    {
        get
        {
            lock (_captureLock)
            {
                return _capture.Length;
            }
        }
    }

    /// <summary>True when the capture holds <paramref name="needle"/> anywhere (read in overlapping windows, so a large capture is never all in memory).</summary>
    public bool Contains(ReadOnlySpan<byte> needle)
    {
        lock (_captureLock)
        {
            _capture.Flush();
        }

        using var file = new FileStream(CapturePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var window = new byte[(1 << 20) + needle.Length];
        var carried = 0;
        int read;
        while ((read = file.Read(window, carried, window.Length - carried)) > 0)
        {
            var filled = carried + read;
            if (window.AsSpan(0, filled).IndexOf(needle) >= 0)
            {
                return true;
            }

            carried = Math.Min(needle.Length - 1, filled);
            window.AsSpan(filled - carried, carried).CopyTo(window);
        }

        return false;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await Task.WhenAll([_accepting, .. _relays]).ContinueWith(_ => { }, TaskScheduler.Default);
        await _capture.DisposeAsync();
        File.Delete(CapturePath);
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception exception) when (exception is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            lock (_relays)
            {
                _relays.Add(RelayAsync(client));
            }
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using (client)
        using (var server = new TcpClient())
        {
            try
            {
                await server.ConnectAsync(_target.Host, _target.Port, _stop.Token);
                using var both = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                var up = PumpAsync(client.GetStream(), server.GetStream(), both.Token);
                var down = PumpAsync(server.GetStream(), client.GetStream(), both.Token);
                await Task.WhenAny(up, down);
                await both.CancelAsync();
                await Task.WhenAll(up, down).ContinueWith(_ => { }, TaskScheduler.Default);
            }
            catch (Exception exception) when (exception is OperationCanceledException or SocketException or IOException)
            {
                // The server is down (a test killed it) or the relay stops: the client sees a dropped connection.
            }
        }
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to, CancellationToken ct)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            int read;
            while ((read = await from.ReadAsync(buffer, ct)) > 0)
            {
                lock (_captureLock)
                {
                    _capture.Write(buffer, 0, read);
                }

                await to.WriteAsync(buffer.AsMemory(0, read), ct);
            }
        }
        catch (Exception exception) when (exception is OperationCanceledException or IOException or ObjectDisposedException)
        {
            // One side closed; the relay ends.
        }
    }
}
