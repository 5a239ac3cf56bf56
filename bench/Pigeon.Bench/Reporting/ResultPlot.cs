namespace Pigeon.Bench.Reporting;

/// <summary>Draws each phase's timeline as a PNG: throughput (or open long-polls) and latency per second.</summary>
public static class ResultPlot
{
    /// <summary>
    /// Writes one PNG per phase: <paramref name="path"/> itself for a single phase, otherwise
    /// <c>name-1.png</c>, <c>name-2.png</c>, …; returns the files written.
    /// </summary>
    public static IReadOnlyList<string> Write(BenchResult result, string path)
    {
        var written = new List<string>();
        for (var i = 0; i < result.Phases.Count; i++)
        {
            var phase = result.Phases[i];
            var file = result.Phases.Count == 1
                ? path
                : Path.Combine(Path.GetDirectoryName(path) ?? "", $"{Path.GetFileNameWithoutExtension(path)}-{i + 1}{Path.GetExtension(path)}");
            var points = phase.Timeline;
            double[] seconds = [.. points.Select(p => (double)p.Second)];
            var plot = new ScottPlot.Plot();
            var gauged = points.Any(p => p.Gauge > 0);
            var left = plot.Add.Scatter(seconds, gauged ? [.. points.Select(p => (double)p.Gauge)] : points.Select(p => (double)p.Delivered).ToArray());
            left.LegendText = gauged ? "open long-polls" : "delivered msg/s";
            var p50 = plot.Add.Scatter(seconds, points.Select(p => p.P50Ms).ToArray());
            p50.LegendText = "p50 latency (ms)";
            p50.Axes.YAxis = plot.Axes.Right;
            var p99 = plot.Add.Scatter(seconds, points.Select(p => p.P99Ms).ToArray());
            p99.LegendText = "p99 latency (ms)";
            p99.Axes.YAxis = plot.Axes.Right;
            plot.Axes.Bottom.Label.Text = "seconds since the phase started";
            plot.Axes.Left.Label.Text = gauged ? "connections" : "messages / s";
            plot.Axes.Right.Label.Text = "latency (ms), messages received that second";
            plot.Title(phase.Name);
            plot.ShowLegend();
            plot.SavePng(file, 1100, 550);
            written.Add(file);
        }

        return written;
    }
}
