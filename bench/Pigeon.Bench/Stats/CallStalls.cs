namespace Pigeon.Bench.Stats;

/// <summary>The request that went unanswered longest.</summary>
/// <param name="Kind">deposit, receive or ack.</param>
/// <param name="StartedAtSeconds">When it was sent, in seconds since the phase started.</param>
/// <param name="Seconds">How long it stalled (see <see cref="CallStalls"/>).</param>
/// <param name="Succeeded">Whether it ended in a 2xx.</param>
public sealed record CallStall(string Kind, double StartedAtSeconds, double Seconds, bool Succeeded);

/// <summary>
/// How long requests went unanswered beyond what they asked for: a request's time from sending to its
/// answer, less the wait a long-poll asked for when it succeeded, and, for a request that failed while
/// a process was killed (see <see cref="KilledAt"/>), less the time before the kill. A long-poll that
/// waits out its 25 s and returns empty therefore stalls 0 s, and one bound to a killed silo stalls for
/// as long as it takes the server to give it up, not for the wait it had already spent.
/// </summary>
public sealed class CallStalls(TimeProvider time, long phaseStart)
{
    private readonly Lock _lock = new();
    private CallStall? _longest;
    private long _killedAt;

    /// <summary>When a process was killed, as a timestamp; null before (or without) a kill.</summary>
    public long? KilledAt => Interlocked.Read(ref _killedAt) is var at and not 0 ? at : null;

    /// <summary>The longest stall so far, or null when nothing was recorded.</summary>
    public CallStall? Longest
    {
        get
        {
            lock (_lock)
            {
                return _longest;
            }
        }
    }

    /// <summary>Notes the moment a process was killed.</summary>
    public void Killed(long timestamp) => Interlocked.Exchange(ref _killedAt, timestamp);

    /// <summary>
    /// Records a request sent at <paramref name="startedAt"/> and answered at <paramref name="answeredAt"/>
    /// that asked the server to wait up to <paramref name="wait"/>; returns its stall.
    /// </summary>
    public TimeSpan Record(string kind, long startedAt, long answeredAt, TimeSpan wait, bool succeeded)
    {
        var stall = Stall(startedAt, answeredAt, wait, succeeded, KilledAt);
        var candidate = new CallStall(kind, time.GetElapsedTime(phaseStart, startedAt).TotalSeconds, stall.TotalSeconds, succeeded);
        lock (_lock)
        {
            if (_longest is null || candidate.Seconds > _longest.Seconds)
            {
                _longest = candidate;
            }
        }

        return stall;
    }

    /// <summary>The stall of one request, by the rule above; never negative.</summary>
    public TimeSpan Stall(long startedAt, long answeredAt, TimeSpan wait, bool succeeded, long? killedAt)
    {
        var from = !succeeded && killedAt is { } kill && kill > startedAt && kill < answeredAt ? kill : startedAt;
        var stall = time.GetElapsedTime(from, answeredAt) - (succeeded ? wait : TimeSpan.Zero);
        return stall > TimeSpan.Zero ? stall : TimeSpan.Zero;
    }
}
