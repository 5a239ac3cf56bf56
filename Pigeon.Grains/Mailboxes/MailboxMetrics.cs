using System.Diagnostics;
using System.Diagnostics.Metrics;
using Pigeon.Hosting.Telemetry;

namespace Pigeon.Grains.Mailboxes;

/// <summary>
/// The mailboxes' instruments, on the meter <see cref="MeterName"/>: how full each group commit is,
/// how long operations wait for one and how long one takes. Operators read them at the silo's
/// <c>/metrics</c>; they say whether deposit latency is spent queueing or in PostgreSQL.
/// </summary>
internal sealed class MailboxMetrics
{
    /// <summary>The meter's name, one of those the telemetry pipeline listens to.</summary>
    public const string MeterName = PigeonMeters.Mailboxes;

    private readonly Histogram<double> _commitDuration;
    private readonly Histogram<double> _queueWait;
    private readonly Histogram<int> _operationsPerCommit;
    private readonly Counter<long> _commitsFailed;

    public MailboxMetrics(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        var meter = meters.Create(MeterName);
        _commitDuration = meter.CreateHistogram<double>(
            "pigeon.mailbox.commit.duration", "s", "Time from sending a group commit to PostgreSQL until it committed.");
        _queueWait = meter.CreateHistogram<double>(
            "pigeon.mailbox.commit.queue_wait", "s", "Time a deposit or acknowledgement waited for the group commit that wrote it to start.");
        _operationsPerCommit = meter.CreateHistogram<int>(
            "pigeon.mailbox.commit.operations", "{operation}", "Deposits and acknowledgements written by one group commit.");
        _commitsFailed = meter.CreateCounter<long>(
            "pigeon.mailbox.commit.failures", "{commit}", "Group commits that failed; their operations failed with them.");
    }

    /// <summary>Records a commit that started at <paramref name="startedAt"/> (a <see cref="Stopwatch"/> timestamp).</summary>
    public void Committed(long startedAt, int operations)
    {
        _commitDuration.Record(Stopwatch.GetElapsedTime(startedAt).TotalSeconds);
        _operationsPerCommit.Record(operations);
    }

    /// <summary>Records how long an operation enqueued at <paramref name="enqueuedAt"/> waited until <paramref name="startedAt"/>.</summary>
    public void Waited(long enqueuedAt, long startedAt) =>
        _queueWait.Record(Stopwatch.GetElapsedTime(enqueuedAt, startedAt).TotalSeconds);

    /// <summary>Counts a failed commit.</summary>
    public void Failed() => _commitsFailed.Add(1);
}
