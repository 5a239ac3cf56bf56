using System.Globalization;
using System.Net;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Processes;

/// <summary>The Orleans dashboard of a silo process: off unless asked for, and then on the metrics port only.</summary>
public sealed class DashboardTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Dashboard_WhenEnabled_AnswersOnTheMetricsPortOnly()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Ct);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        var (api, metrics) = (BuiltApps.FreePort(), BuiltApps.FreePort());
        await cluster.StartSiloAsync(Ct, Ports(api, metrics, new() { ["Pigeon__Silo__Dashboard"] = "true" }));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        using var page = await http.GetAsync(new Uri($"http://127.0.0.1:{metrics}/dashboard/"), Ct);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Orleans", await page.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        // The data behind it: this silo among the cluster's, once the dashboard has collected (every second).
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        string counters;
        while (!(counters = await http.GetStringAsync(new Uri($"http://127.0.0.1:{metrics}/dashboard/DashboardCounters"), Ct)).Contains("127.0.0.1", StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, $"The dashboard never listed this silo: {counters}");
            await Task.Delay(TimeSpan.FromMilliseconds(250), Ct);
        }

        // The live log is off: log lines stay in the logs.
        Assert.NotEqual(HttpStatusCode.OK, (await http.GetAsync(new Uri($"http://127.0.0.1:{metrics}/dashboard/Trace"), Ct)).StatusCode);

        foreach (var path in new[] { "/dashboard/", "/dashboard/DashboardCounters", "/dashboard/GrainState" })
        {
            using var elsewhere = await http.GetAsync(new Uri($"http://127.0.0.1:{api}{path}"), Ct);
            Assert.Equal(HttpStatusCode.NotFound, elsewhere.StatusCode);
        }
    }

    [Fact]
    public async Task Dashboard_IsOffByDefault()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Ct);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        var (api, metrics) = (BuiltApps.FreePort(), BuiltApps.FreePort());
        await cluster.StartSiloAsync(Ct, Ports(api, metrics, []));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(new Uri($"http://127.0.0.1:{metrics}/dashboard/"), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri($"http://127.0.0.1:{metrics}/metrics"), Ct)).StatusCode);
    }

    private static Dictionary<string, string> Ports(int api, int metrics, Dictionary<string, string> settings)
    {
        settings["Urls"] = $"http://127.0.0.1:{api};http://127.0.0.1:{metrics}";
        settings["Pigeon__Metrics__Port"] = metrics.ToString(CultureInfo.InvariantCulture);
        return settings;
    }
}
