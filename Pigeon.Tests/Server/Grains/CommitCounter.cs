using System.Diagnostics.Metrics;
using Pigeon.Grains.Mailboxes;

namespace Pigeon.Tests.Grains;

/// <summary>
/// Counts the group commits one silo makes, from its own mailbox meter (one
/// <c>pigeon.mailbox.commit.operations</c> measurement per commit); other silos in the test process
/// have meters of their own factory and are not counted.
/// </summary>
internal sealed class CommitCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _commits;

    public CommitCounter(IMeterFactory siloMeters)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == MailboxMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, siloMeters)
                && instrument.Name == "pigeon.mailbox.commit.operations")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<int>((_, _, _, _) => Interlocked.Increment(ref _commits));
        _listener.Start();
    }

    /// <summary>Commits since this counter started.</summary>
    public long Commits => Interlocked.Read(ref _commits);

    public void Dispose() => _listener.Dispose();
}
