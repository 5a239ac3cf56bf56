using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization;
using Pigeon.Api;
using Pigeon.Client.Cli;
using Pigeon.Messaging.Delivery;
using Pigeon.Messaging.Devices;
using Pigeon.Messaging.Profiles;
using StreamJsonRpc;

namespace Pigeon.Client.Daemon;

/// <summary>
/// One running daemon: an open profile, its receive loop, and the JSON-RPC connections (stdio, or
/// any number over the Unix socket). What the loop receives is stored and acknowledged to the server
/// as <c>sync</c> does, then notified to every subscribed connection; in manual mode each message is
/// also held (<see cref="Inbox.HoldForIntegration"/>) until a connection acknowledges it.
/// </summary>
internal sealed class DaemonHost
{
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<DaemonConnection, bool> _connections = new();
    private readonly Action<string> _log;

    public DaemonHost(ProfileSession session, bool manualAck, Action<string> log, CancellationToken stopping)
    {
        Session = session;
        ManualAck = manualAck;
        Stopping = stopping;
        _log = log;
        session.Inbox.HoldForIntegration = manualAck;
    }

    /// <summary>The JSON rules of the wire: camelCase members, no nulls.</summary>
    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public ProfileSession Session { get; }

    public bool ManualAck { get; }

    /// <summary>Cancelled when the daemon stops (SIGTERM, Ctrl-C, end of stdin in stdio mode).</summary>
    public CancellationToken Stopping { get; }

    /// <summary>Serves one connection until it closes or the daemon stops.</summary>
    public async Task ServeAsync(Stream sending, Stream receiving)
    {
        var formatter = new SystemTextJsonFormatter { JsonSerializerOptions = Json };
        using var rpc = new JsonRpc(new NewLineDelimitedMessageHandler(sending, receiving, formatter));
        var connection = new DaemonConnection(this, rpc);
        rpc.AddLocalRpcTarget(new DaemonApi(this, connection), new JsonRpcTargetOptions { DisposeOnDisconnect = false });
        _connections[connection] = true;
        rpc.StartListening();
        try
        {
            await rpc.Completion.WaitAsync(Stopping);
        }
        catch (OperationCanceledException) when (Stopping.IsCancellationRequested)
        {
            // Stopping: the connection closes below.
        }
        catch (Exception exception) when (exception is IOException or ObjectDisposedException or RemoteRpcException)
        {
            _log($"pigeon daemon: a connection ended: {exception.Message}");
        }
        finally
        {
            _connections.TryRemove(connection, out _);
        }
    }

    /// <summary>Accepts connections on a Unix socket at <paramref name="path"/> (mode 0600) until the daemon stops.</summary>
    public async Task ListenAsync(string path)
    {
        // The lock is ours, so a socket file left here is a crashed daemon's.
        File.Delete(path);
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        // The profile folder is 0700 already, so nobody else could connect before this narrows the file.
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        listener.Listen();
        _log($"pigeon daemon: listening on {path}");
        var served = new List<Task>();
        try
        {
            while (!Stopping.IsCancellationRequested)
            {
                var client = await listener.AcceptAsync(Stopping);
                var stream = new NetworkStream(client, ownsSocket: true);
                served.Add(Task.Run(async () =>
                {
                    await using (stream)
                    {
                        await ServeAsync(stream, stream);
                    }
                }));
            }
        }
        catch (OperationCanceledException) when (Stopping.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            await Task.WhenAll(served);
            File.Delete(path);
        }
    }

    /// <summary>Sends a notification to every subscribed connection; one that fails is left to close.</summary>
    public void Notify(string method, object payload)
    {
        foreach (var connection in _connections.Keys)
        {
            if (connection.IsSubscribed)
            {
                _ = connection.NotifyAsync(method, payload);
            }
        }
    }

    /// <summary>
    /// Finishes uploads an earlier run left, sends what is queued, then receives until the daemon
    /// stops, notifying what arrives and downloading the files up to the auto-download size; a server
    /// that cannot be reached is tried again, waiting longer each time (up to 30 s).
    /// </summary>
    public async Task ReceiveAsync()
    {
        long after = 0;
        var delay = TimeSpan.FromSeconds(1);
        var received = new List<ReceivedEvent>();
        var uploadsResumed = false;
        while (!Stopping.IsCancellationRequested)
        {
            try
            {
                if (!uploadsResumed)
                {
                    foreach (var upload in await Session.Attachments.PendingUploadsAsync())
                    {
                        await Session.Attachments.ResumeUploadAsync(upload, null, Stopping);
                    }

                    uploadsResumed = true;
                }

                await Session.Outbox.DeliverAsync(Stopping);
                PollResult result;
                do
                {
                    result = await Session.Inbox.PollAsync(after, TimeSpan.FromSeconds(ApiLimits.MaxWaitSeconds), Stopping);
                    after = result.LastSequence;
                    foreach (var item in result.Events)
                    {
                        Dispatch(item);
                    }
                    received.AddRange(result.Events);
                }
                while (result.HasMore);
                await Session.Attachments.FetchNewAsync(received, Stopping);
                received.Clear();
                await Session.MaintainAsync(Stopping);
                delay = TimeSpan.FromSeconds(1);
            }
            catch (OperationCanceledException) when (Stopping.IsCancellationRequested)
            {
                break;
            }
            catch (Exception exception) when (PigeonCommand.AsCliException(exception) is { } failure)
            {
                _log($"pigeon daemon: receiving failed, trying again in {delay.TotalSeconds:0} s: {failure.Message}");
                try
                {
                    await Task.Delay(delay, Stopping);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
            }
        }

        try
        {
            await Session.Inbox.AcknowledgeBeforeLeavingAsync();
        }
        catch (Exception exception) when (PigeonCommand.AsCliException(exception) is { } failure)
        {
            _log($"pigeon daemon: {failure.Message}");
        }
    }

    /// <summary>Tells one connection about a held message again.</summary>
    public static Task NotifyMessageAsync(DaemonConnection connection, ReceivedEvent received) =>
        connection.NotifyAsync("message", MessageNotification.From(received));

    private void Dispatch(ReceivedEvent received)
    {
        switch (received.Kind)
        {
            case ReceivedKind.Delivered or ReceivedKind.Read:
                Notify("receipt", new ReceiptNotification(received.Kind == ReceivedKind.Read ? "read" : "delivered", received.ContactId!, received.MessageIds ?? [], received.ReceivedAt));
                break;
            case ReceivedKind.Typing:
                Notify("typing", new TypingNotification(received.ContactId!, PeerText.Json(received.ContactName), received.IsTyping == true));
                break;
            case ReceivedKind.ContactSync:
                var change = received.ContactChange == ContactChange.Saved ? "updated" : received.ContactChange.ToString()!.ToLowerInvariant();
                Notify("contact", new ContactNotification(change, received.ContactId!, PeerText.Json(received.ContactName)));
                break;
            default:
                Notify("message", MessageNotification.From(received));
                if (received.Kind is ReceivedKind.Request or ReceivedKind.Accepted)
                {
                    Notify("contact", new ContactNotification(received.Kind == ReceivedKind.Request ? "requested" : "accepted", received.ContactId!, PeerText.Json(received.ContactName)));
                }
                break;
        }
    }
}

/// <summary>One JSON-RPC connection to the daemon.</summary>
internal sealed class DaemonConnection(DaemonHost host, JsonRpc rpc)
{
    private volatile bool _subscribed;

    /// <summary>True once the connection called <c>subscribe</c>.</summary>
    public bool IsSubscribed => _subscribed;

    /// <summary>Subscribes; in manual mode the held messages are notified first, oldest first.</summary>
    public async Task<SubscribeResult> SubscribeAsync()
    {
        // Subscribed first, so nothing arriving meanwhile is missed; it may come twice (same messageId).
        _subscribed = true;
        var held = host.ManualAck ? await host.Session.Inbox.HeldAsync() : [];
        foreach (var received in held)
        {
            await DaemonHost.NotifyMessageAsync(this, received);
        }
        return new SubscribeResult(host.ManualAck, held.Count);
    }

    /// <summary>Sends one notification; a connection that went away is ignored (it is being closed).</summary>
    public async Task NotifyAsync(string method, object payload)
    {
        try
        {
            await rpc.NotifyWithParameterObjectAsync(method, payload);
        }
        catch (Exception exception) when (exception is IOException or ObjectDisposedException or ConnectionLostException)
        {
            // The connection is gone; ServeAsync forgets it.
        }
    }
}
