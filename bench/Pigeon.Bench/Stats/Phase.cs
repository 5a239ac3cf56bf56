namespace Pigeon.Bench.Stats;

/// <summary>
/// The measurements of one phase of a run (a loop of <c>pairs</c>, the store or the drain): its own
/// ledger, latency histogram, errors and per-second timeline.
/// </summary>
public sealed class Phase
{
    /// <summary>A phase starting now on <paramref name="time"/>'s clock, timed for at most <paramref name="maxSeconds"/>.</summary>
    public Phase(string name, TimeProvider time, int maxSeconds, bool readsMessages = true)
    {
        Name = name;
        ReadsMessages = readsMessages;
        Time = time;
        StartTimestamp = time.GetTimestamp();
        Timeline = new Timeline(time, StartTimestamp, maxSeconds);
        Stalls = new CallStalls(time, StartTimestamp);
    }

    /// <summary>The phase's name in the summary.</summary>
    public string Name { get; }

    /// <summary>Whether the phase reads what it sends; when not, nothing it sends can count as lost.</summary>
    public bool ReadsMessages { get; }

    /// <summary>The clock.</summary>
    public TimeProvider Time { get; }

    /// <summary>When the phase started, as a <see cref="TimeProvider"/> timestamp.</summary>
    public long StartTimestamp { get; }

    /// <summary>Ids of the envelopes committed in this phase, where a later phase needs them (store → drain).</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<Guid, byte> CommittedIds { get; } = new();

    /// <summary>Every message by id.</summary>
    public DeliveryLedger Ledger { get; } = new();

    /// <summary>End-to-end latency of the measured messages.</summary>
    public LatencyRecorder Latency { get; } = new();

    /// <summary>Failed requests by status.</summary>
    public StatusCounter Errors { get; } = new();

    /// <summary>Per-second counts.</summary>
    public Timeline Timeline { get; }

    /// <summary>How long requests went unanswered, and when a process was killed.</summary>
    public CallStalls Stalls { get; }

    /// <summary>Envelopes acknowledged (deleted) by their recipients.</summary>
    public long Acknowledged => Interlocked.Read(ref _acknowledged);

    /// <summary>
    /// Envelopes received in this phase whose acknowledgement a reader holds for its next poll (or
    /// carries on a poll still waiting), not yet confirmed by the server: with acknowledgements carried
    /// on polls, what the phase will count as acknowledged is <see cref="Acknowledged"/> plus these.
    /// </summary>
    public long AcknowledgementsHeld => Interlocked.Read(ref _acknowledgementsHeld);

    /// <summary>Deposits answered with a 200, in envelopes.</summary>
    public long Committed => Interlocked.Read(ref _committed);

    private long _acknowledged;
    private long _acknowledgementsHeld;
    private long _committed;

    /// <summary>Counts acknowledged envelopes.</summary>
    public void AddAcknowledged(int count) => Interlocked.Add(ref _acknowledged, count);

    /// <summary>Counts acknowledgements held for a later poll (negative: released).</summary>
    public void HoldAcknowledgements(int count) => Interlocked.Add(ref _acknowledgementsHeld, count);

    /// <summary>Counts committed envelopes.</summary>
    public void AddCommitted(int count) => Interlocked.Add(ref _committed, count);

    /// <summary>Records a receipt: ledger, latency and timeline.</summary>
    public void Received(Guid messageId, long receivedAt)
    {
        var latency = Ledger.Received(messageId, receivedAt);
        TimeSpan? elapsed = latency is { } ticks ? TimeSpan.FromSeconds(ticks / (double)Time.TimestampFrequency) : null;
        if (elapsed is { } value)
        {
            Latency.Record(value);
        }

        Timeline.Delivered(receivedAt, elapsed);
    }

    /// <summary>Records a failed request.</summary>
    public void Failed(string key)
    {
        Errors.Add(key);
        Timeline.Error(Time.GetTimestamp());
    }

    /// <summary>
    /// Records a request of <paramref name="kind"/> sent at <paramref name="startedAt"/> and answered
    /// now, which asked the server to wait up to <paramref name="wait"/>: its stall, in the phase and
    /// in the second it was answered.
    /// </summary>
    public void Answered(string kind, long startedAt, TimeSpan wait, bool succeeded)
    {
        var now = Time.GetTimestamp();
        Timeline.Answered(now, Stalls.Record(kind, startedAt, now, wait, succeeded));
    }

    /// <summary>Time since the phase started.</summary>
    public TimeSpan Elapsed => Time.GetElapsedTime(StartTimestamp);

    /// <summary>The timestamp <paramref name="offset"/> after the phase's start.</summary>
    public long TimestampAt(TimeSpan offset) => StartTimestamp + (long)(offset.TotalSeconds * Time.TimestampFrequency);
}
