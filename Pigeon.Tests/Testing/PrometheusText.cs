using System.Globalization;

namespace Pigeon.Tests.Testing;

/// <summary>Reads the Prometheus text format a host serves at <c>/metrics</c>.</summary>
public static class PrometheusText
{
    /// <summary>Every sample of the series <paramref name="name"/>, whatever its labels: (labels, value).</summary>
    public static IReadOnlyList<(string Labels, double Value)> Samples(string text, string name)
    {
        ArgumentNullException.ThrowIfNull(text);
        var samples = new List<(string, double)>();
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith(name, StringComparison.Ordinal) || line.Length == name.Length || line[name.Length] is not (' ' or '{'))
            {
                continue;
            }

            // A label value may hold braces (a route's {accountId}); the value after the labels never does.
            var labelsEnd = line[name.Length] == '{' ? line.LastIndexOf('}') + 1 : name.Length;
            var value = line[labelsEnd..].Trim().Split(' ')[0];
            samples.Add((line[name.Length..labelsEnd], double.Parse(value, CultureInfo.InvariantCulture)));
        }

        return samples;
    }

    /// <summary>The sum over every sample of <paramref name="name"/>; fails when the series is absent.</summary>
    public static double Sum(string text, string name)
    {
        var samples = Samples(text, name);
        Assert.True(samples.Count > 0, $"/metrics has no series {name}.");
        return samples.Sum(s => s.Value);
    }
}
