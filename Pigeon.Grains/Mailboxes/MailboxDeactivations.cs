using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Orleans.Runtime.Diagnostics;

namespace Pigeon.Grains.Mailboxes;

/// <summary>
/// Ends a mailbox's waiting receives the moment its activation starts deactivating. Orleans finishes
/// a deactivation only once no request of the activation runs, and holds every call to it until then,
/// so one long-poll waiting out its 25 s would hold the mailbox's deposits and receives as long. That
/// happens to every mailbox whose directory entry a dead silo held: the surviving silo deactivates
/// them as soon as the death is declared. Orleans announces the start of a deactivation only as a
/// diagnostic event (<see cref="GrainLifecycleEvents"/>, listener <c>Orleans.GrainLifecycle</c>); this
/// listens to that one event, for the process's silos.
/// </summary>
internal sealed class MailboxDeactivations : IHostedService, IObserver<DiagnosticListener>, IObserver<KeyValuePair<string, object?>>
{
    private readonly Lock _lock = new();
    private IDisposable? _listeners;
    private IDisposable? _events;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _listeners = DiagnosticListener.AllListeners.Subscribe(this);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            _listeners?.Dispose();
            _events?.Dispose();
            (_listeners, _events) = (null, null);
        }

        return Task.CompletedTask;
    }

    void IObserver<DiagnosticListener>.OnNext(DiagnosticListener listener)
    {
        if (listener.Name != GrainLifecycleEvents.ListenerName)
        {
            return;
        }

        lock (_lock)
        {
            // Only this event is enabled, so the runtime builds no payload for the others.
            _events ??= listener.Subscribe(this, name => name == nameof(GrainLifecycleEvents.Deactivating));
        }
    }

    // Raised under the activation's lock, on whichever thread deactivates it: only a signal is set here.
    void IObserver<KeyValuePair<string, object?>>.OnNext(KeyValuePair<string, object?> value)
    {
        if (value.Value is GrainLifecycleEvents.Deactivating { GrainContext.GrainInstance: MailboxGrain mailbox })
        {
            mailbox.EndWaits();
        }
    }

    void IObserver<DiagnosticListener>.OnCompleted()
    {
    }

    void IObserver<DiagnosticListener>.OnError(Exception error)
    {
    }

    void IObserver<KeyValuePair<string, object?>>.OnCompleted()
    {
    }

    void IObserver<KeyValuePair<string, object?>>.OnError(Exception error)
    {
    }
}
