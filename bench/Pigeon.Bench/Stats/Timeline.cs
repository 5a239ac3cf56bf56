namespace Pigeon.Bench.Stats;

/// <summary>One second of a run.</summary>
/// <param name="Second">Seconds since the start.</param>
/// <param name="Sent">Deposits answered in this second.</param>
/// <param name="Delivered">Messages first received in this second.</param>
/// <param name="Errors">Failed requests in this second.</param>
/// <param name="P50Ms">Median latency of the messages received in this second.</param>
/// <param name="P99Ms">99th percentile latency of the messages received in this second.</param>
/// <param name="MaxMs">Largest latency of the messages received in this second.</param>
/// <param name="Gauge">A level sampled at the end of the second (open long-polls, in-flight requests).</param>
/// <param name="LongestCallMs">The longest stall (<see cref="CallStalls"/>) of the requests answered in this second.</param>
public sealed record TimelinePoint(int Second, long Sent, long Delivered, long Errors, double P50Ms, double P99Ms, double MaxMs, long Gauge,
    double LongestCallMs);

/// <summary>Per-second throughput and latency, for the progress line, the JSON result and the plot.</summary>
public sealed class Timeline(TimeProvider time, long startTimestamp, int maxSeconds)
{
    private const int MaxSamplesPerSecond = 200_000;
    private readonly long[] _sent = new long[maxSeconds];
    private readonly long[] _delivered = new long[maxSeconds];
    private readonly long[] _errors = new long[maxSeconds];
    private readonly long[] _gauge = new long[maxSeconds];
    private readonly long[] _longestCallMicros = new long[maxSeconds];
    private readonly List<double>[] _latencies = [.. Enumerable.Range(0, maxSeconds).Select(_ => new List<double>())];

    /// <summary>The second of the run that <paramref name="timestamp"/> falls in, clamped to the timeline.</summary>
    public int SecondOf(long timestamp) =>
        (int)Math.Clamp(time.GetElapsedTime(startTimestamp, timestamp).TotalSeconds, 0, _sent.Length - 1);

    /// <summary>Counts an answered deposit of <paramref name="messages"/> messages.</summary>
    public void Sent(long timestamp, int messages = 1) => Interlocked.Add(ref _sent[SecondOf(timestamp)], messages);

    /// <summary>Counts a failed request.</summary>
    public void Error(long timestamp) => Interlocked.Increment(ref _errors[SecondOf(timestamp)]);

    /// <summary>Counts a first receipt and, when measured, its latency.</summary>
    public void Delivered(long timestamp, TimeSpan? latency)
    {
        var second = SecondOf(timestamp);
        Interlocked.Increment(ref _delivered[second]);
        if (latency is { } value)
        {
            var samples = _latencies[second];
            lock (samples)
            {
                if (samples.Count < MaxSamplesPerSecond)
                {
                    samples.Add(value.TotalMilliseconds);
                }
            }
        }
    }

    /// <summary>Notes a request answered at <paramref name="timestamp"/> that stalled for <paramref name="stall"/>.</summary>
    public void Answered(long timestamp, TimeSpan stall)
    {
        ref var longest = ref _longestCallMicros[SecondOf(timestamp)];
        var micros = stall.Ticks / TimeSpan.TicksPerMicrosecond;
        var seen = Interlocked.Read(ref longest);
        while (micros > seen && Interlocked.CompareExchange(ref longest, micros, seen) != seen)
        {
            seen = Interlocked.Read(ref longest);
        }
    }

    /// <summary>Sets the gauge of the second <paramref name="timestamp"/> falls in.</summary>
    public void Gauge(long timestamp, long value) => Interlocked.Exchange(ref _gauge[SecondOf(timestamp)], value);

    /// <summary>The seconds from the start up to <paramref name="seconds"/>.</summary>
    public IReadOnlyList<TimelinePoint> Points(int seconds)
    {
        var points = new List<TimelinePoint>();
        for (var s = 0; s < Math.Min(seconds, _sent.Length); s++)
        {
            double[] samples;
            lock (_latencies[s])
            {
                samples = [.. _latencies[s]];
            }

            Array.Sort(samples);
            points.Add(new TimelinePoint(s, Interlocked.Read(ref _sent[s]), Interlocked.Read(ref _delivered[s]), Interlocked.Read(ref _errors[s]),
                Percentiles.Nearest(samples, 50), Percentiles.Nearest(samples, 99), samples.Length == 0 ? 0 : samples[^1], Interlocked.Read(ref _gauge[s]),
                Interlocked.Read(ref _longestCallMicros[s]) / 1000.0));
        }

        return points;
    }
}

/// <summary>Exact percentiles of a sorted sample, nearest-rank (as HdrHistogram reports them).</summary>
public static class Percentiles
{
    /// <summary>The smallest value with at least <paramref name="percentile"/> % of the sample at or below it; 0 when empty.</summary>
    public static double Nearest(IReadOnlyList<double> sorted, double percentile)
    {
        if (sorted.Count == 0)
        {
            return 0;
        }

        var rank = (int)Math.Ceiling(percentile / 100.0 * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }
}
