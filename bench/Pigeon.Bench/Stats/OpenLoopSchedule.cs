namespace Pigeon.Bench.Stats;

/// <summary>
/// The open-loop plan: message <c>i</c> is due at <c>i / rate</c> seconds after the start, whatever
/// happened to the messages before it. Latency is measured from the due time, so a server that slows
/// down cannot slow the offered load (no coordinated omission).
/// </summary>
public sealed class OpenLoopSchedule
{
    /// <summary>A schedule of <paramref name="rate"/> messages per second for <paramref name="duration"/>.</summary>
    public OpenLoopSchedule(double rate, TimeSpan duration)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rate);
        ArgumentOutOfRangeException.ThrowIfLessThan(duration, TimeSpan.Zero);
        Rate = rate;
        Duration = duration;
        // Messages due strictly before the end: 0, 1/rate, ... so rate × duration of them.
        Total = (long)Math.Ceiling(Math.Round(rate * duration.TotalSeconds, 9));
    }

    /// <summary>Messages per second.</summary>
    public double Rate { get; }

    /// <summary>How long the schedule lasts.</summary>
    public TimeSpan Duration { get; }

    /// <summary>How many messages the schedule holds.</summary>
    public long Total { get; }

    /// <summary>When message <paramref name="index"/> is due, after the start.</summary>
    public TimeSpan DueAt(long index) => TimeSpan.FromTicks((long)Math.Round(index * (TimeSpan.TicksPerSecond / Rate)));

    /// <summary>How many messages are due by <paramref name="elapsed"/> (those with a due time at or before it).</summary>
    public long DueBy(TimeSpan elapsed)
    {
        if (elapsed < TimeSpan.Zero)
        {
            return 0;
        }

        var count = (long)Math.Floor(elapsed.Ticks / (TimeSpan.TicksPerSecond / Rate)) + 1;
        // Rounding in DueAt may put a boundary message one tick either side; trust DueAt.
        while (count > 0 && count - 1 < Total && DueAt(count - 1) > elapsed)
        {
            count--;
        }

        while (count < Total && DueAt(count) <= elapsed)
        {
            count++;
        }

        return Math.Min(count, Total);
    }
}
