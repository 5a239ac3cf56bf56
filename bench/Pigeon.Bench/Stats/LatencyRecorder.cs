using HdrHistogram;

namespace Pigeon.Bench.Stats;

/// <summary>Percentiles of a latency distribution, in milliseconds.</summary>
public sealed record LatencySummary(long Count, double Mean, double P50, double P95, double P99, double Max);

/// <summary>
/// Records latencies in microseconds into an HdrHistogram (3 significant digits, up to one hour), safe
/// to call from many threads.
/// </summary>
public sealed class LatencyRecorder
{
    private static readonly long HighestTrackable = TimeSpan.FromHours(1).Ticks / TimeSpan.TicksPerMicrosecond;
    private readonly LongHistogram _histogram = new(HighestTrackable, 3);
    private readonly Lock _lock = new();

    /// <summary>How many latencies were recorded.</summary>
    public long Count
    {
        get
        {
            lock (_lock)
            {
                return _histogram.TotalCount;
            }
        }
    }

    /// <summary>Records one latency; negative values count as zero, values above an hour as an hour.</summary>
    public void Record(TimeSpan latency)
    {
        var micros = Math.Clamp(latency.Ticks / TimeSpan.TicksPerMicrosecond, 0, HighestTrackable);
        lock (_lock)
        {
            _histogram.RecordValue(micros);
        }
    }

    /// <summary>The latency at a percentile (0–100), in milliseconds; 0 when nothing was recorded.</summary>
    public double PercentileMs(double percentile)
    {
        lock (_lock)
        {
            return _histogram.TotalCount == 0 ? 0 : _histogram.GetValueAtPercentile(percentile) / 1000.0;
        }
    }

    /// <summary>Count, mean, p50/p95/p99 and max, in milliseconds.</summary>
    public LatencySummary Summarize()
    {
        lock (_lock)
        {
            if (_histogram.TotalCount == 0)
            {
                return new LatencySummary(0, 0, 0, 0, 0, 0);
            }

            return new LatencySummary(
                _histogram.TotalCount,
                _histogram.GetMean() / 1000.0,
                _histogram.GetValueAtPercentile(50) / 1000.0,
                _histogram.GetValueAtPercentile(95) / 1000.0,
                _histogram.GetValueAtPercentile(99) / 1000.0,
                _histogram.GetMaxValue() / 1000.0);
        }
    }
}
