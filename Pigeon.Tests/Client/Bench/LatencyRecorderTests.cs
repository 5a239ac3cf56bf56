using Pigeon.Bench.Stats;

namespace Pigeon.Tests.Bench;

public sealed class LatencyRecorderTests
{
    [Fact]
    public void Percentiles_MatchABruteForceComputation_WithinTheHistogramsPrecision()
    {
        var random = new Random(1234);
        // Mostly fast with a long tail, like a real latency distribution.
        var samples = Enumerable.Range(0, 20_000)
            .Select(_ => TimeSpan.FromMicroseconds(Math.Round(Math.Exp(random.NextDouble() * 12) * (random.NextDouble() < 0.02 ? 50 : 1))))
            .ToList();
        var recorder = new LatencyRecorder();
        foreach (var sample in samples)
        {
            recorder.Record(sample);
        }

        var sorted = samples.Select(s => s.TotalMilliseconds).Order().ToList();
        var summary = recorder.Summarize();
        Assert.Equal(samples.Count, summary.Count);
        foreach (var (percentile, actual) in new[] { (50.0, summary.P50), (95.0, summary.P95), (99.0, summary.P99), (100.0, summary.Max) })
        {
            var expected = Percentiles.Nearest(sorted, percentile);
            // Three significant digits: within 0.1 %, plus a microsecond of rounding.
            Assert.InRange(actual, expected * 0.999 - 0.001, expected * 1.001 + 0.001);
        }

        Assert.InRange(summary.Mean, sorted.Average() * 0.999, sorted.Average() * 1.001);
    }

    [Fact]
    public void Summarize_WithNothingRecorded_IsAllZero()
    {
        Assert.Equal(new LatencySummary(0, 0, 0, 0, 0, 0), new LatencyRecorder().Summarize());
    }

    [Fact]
    public void Record_ClampsNegativeLatencyToZero()
    {
        var recorder = new LatencyRecorder();
        recorder.Record(TimeSpan.FromMilliseconds(-5));
        Assert.Equal(0, recorder.Summarize().Max);
    }

    [Theory]
    [InlineData(50, 5)]
    [InlineData(90, 9)]
    [InlineData(91, 10)]
    [InlineData(100, 10)]
    [InlineData(0, 1)]
    public void Nearest_IsTheSmallestValueWithThePercentileAtOrBelowIt(double percentile, double expected)
    {
        double[] sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        Assert.Equal(expected, Percentiles.Nearest(sorted, percentile));
    }
}
