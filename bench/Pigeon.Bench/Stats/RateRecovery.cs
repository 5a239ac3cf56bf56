namespace Pigeon.Bench.Stats;

/// <summary>
/// When a per-second count came back to an offered rate after an event: the first second that holds
/// at least <see cref="Fraction"/> of the rate itself and from which every window of
/// <see cref="WindowSeconds"/> seconds up to the end does so on average. Windows rather than single
/// seconds, so one slow second of a loaded machine after the recovery does not move it; every window
/// to the end, so a brief burst in the middle of an outage does not count as the recovery; and the
/// first second itself, so a backlog arriving at once cannot average the empty seconds before it away.
/// </summary>
public static class RateRecovery
{
    /// <summary>The length of the windows averaged.</summary>
    public const int WindowSeconds = 3;

    /// <summary>The share of the offered rate that counts as back.</summary>
    public const double Fraction = 0.9;

    /// <summary>
    /// Seconds from <paramref name="eventAtSeconds"/> until <paramref name="perSecond"/> (one count per
    /// second since the start) is back at <paramref name="rate"/>, judged up to second
    /// <paramref name="untilSecond"/> (exclusive); 0 when it never fell, null when it did not come back
    /// with a full window to spare.
    /// </summary>
    public static double? SecondsUntilBack(IReadOnlyList<long> perSecond, double eventAtSeconds, int untilSecond, double rate)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rate);
        var end = Math.Min(untilSecond, perSecond.Count);
        var first = (int)Math.Floor(eventAtSeconds);
        if (first < 0 || first + WindowSeconds > end)
        {
            return null;
        }

        // From the end: the earliest second after which no window falls short.
        var lastStart = end - WindowSeconds;
        var windowsHold = lastStart + 1;
        for (var start = lastStart; start >= first; start--)
        {
            long sum = 0;
            for (var s = start; s < start + WindowSeconds; s++)
            {
                sum += perSecond[s];
            }

            if (sum < rate * WindowSeconds * Fraction)
            {
                break;
            }

            windowsHold = start;
        }

        for (var second = windowsHold; second <= lastStart; second++)
        {
            if (perSecond[second] >= rate * Fraction)
            {
                return Math.Max(0, second - eventAtSeconds);
            }
        }

        return null;
    }
}
