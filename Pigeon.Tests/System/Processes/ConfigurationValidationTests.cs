using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Processes;

/// <summary>A silo or gateway with bad settings refuses to start and names every bad value at once.</summary>
public sealed class ConfigurationValidationTests
{
    [Fact]
    public async Task Silo_WithBadSettings_ExitsWithEveryProblemNamed()
    {
        var (exitCode, output) = await AppProcess.RunAsync(BuiltApps.AssemblyOf("Pigeon.Silo"), new Dictionary<string, string>
        {
            ["ConnectionStrings__Pigeon"] = "",
            ["Pigeon__Silo__SiloPort"] = "0",
            ["Pigeon__Silo__GatewayPort"] = "70000",
            ["Pigeon__Silo__AdvertisedAddress"] = "not-an-ip",
            ["Pigeon__Cluster__ClusterId"] = " ",
        }, TimeSpan.FromSeconds(60));

        Assert.Equal(2, exitCode);
        foreach (var expected in new[] { "ConnectionStrings:Pigeon", "Pigeon:Silo:SiloPort", "Pigeon:Silo:GatewayPort", "Pigeon:Silo:AdvertisedAddress", "Pigeon:Cluster:ClusterId" })
        {
            Assert.Contains(expected, output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Silo_ServingTheApi_ChecksTheApisSettingsToo()
    {
        var (exitCode, output) = await AppProcess.RunAsync(BuiltApps.AssemblyOf("Pigeon.Silo"), new Dictionary<string, string>
        {
            ["ConnectionStrings__Pigeon"] = "Host=127.0.0.1;Database=unused",
            ["Pigeon__Silo__ServeApi"] = "true",
            ["Pigeon__Limits__MaxWaitSeconds"] = "60",
        }, TimeSpan.FromSeconds(60));

        Assert.Equal(2, exitCode);
        Assert.Contains("Pigeon:Auth:TokenSigningKey", output, StringComparison.Ordinal);
        Assert.Contains("Pigeon:Limits:MaxWaitSeconds", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Silo_WithTheDashboardButNoMetricsPort_ExitsNamingBoth()
    {
        var (exitCode, output) = await AppProcess.RunAsync(BuiltApps.AssemblyOf("Pigeon.Silo"), new Dictionary<string, string>
        {
            ["ConnectionStrings__Pigeon"] = "Host=127.0.0.1;Database=unused",
            ["Pigeon__Silo__Dashboard"] = "true",
        }, TimeSpan.FromSeconds(60));

        Assert.Equal(2, exitCode);
        Assert.Contains("Pigeon:Silo:Dashboard needs Pigeon:Metrics:Port", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Silo_MigrateWithoutConnectionString_ExitsWithAMessage()
    {
        var (exitCode, output) = await AppProcess.RunAsync(BuiltApps.AssemblyOf("Pigeon.Silo"), new Dictionary<string, string>
        {
            ["ConnectionStrings__Pigeon"] = "",
        }, TimeSpan.FromSeconds(60), "migrate");

        Assert.Equal(2, exitCode);
        Assert.Contains("ConnectionStrings:Pigeon is missing", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Gateway_WithBadSettings_ExitsWithEveryProblemNamed()
    {
        var (exitCode, output) = await AppProcess.RunAsync(BuiltApps.AssemblyOf("Pigeon.Gateway"), new Dictionary<string, string>
        {
            ["ConnectionStrings__Pigeon"] = "",
            ["Pigeon__Auth__TokenSigningKey"] = "c2hvcnQ=",
            ["Pigeon__Limits__MaxWaitSeconds"] = "60",
            ["Pigeon__Limits__MaxEnvelopeBytes"] = "0",
            ["Pigeon__ForwardedHeaders__KnownNetworks__0"] = "10.0.0.0/33",
            ["Pigeon__Auth__Origins__0"] = "https://pigeon.example.com/v1",
        }, TimeSpan.FromSeconds(60));

        Assert.Equal(2, exitCode);
        foreach (var expected in new[] { "ConnectionStrings:Pigeon", "Pigeon:Auth:TokenSigningKey", "Pigeon:Auth:Origins", "Pigeon:Limits:MaxWaitSeconds", "Pigeon:Limits:MaxEnvelopeBytes", "Pigeon:ForwardedHeaders:KnownNetworks" })
        {
            Assert.Contains(expected, output, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("c2hvcnQ=", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("70000", "must be a TCP port")]
    [InlineData("9", "is not a port of the addresses in Urls")]
    public async Task Gateway_WithAMetricsPortItDoesNotListenOn_ExitsNamingIt(string port, string expected)
    {
        var (exitCode, output) = await AppProcess.RunAsync(BuiltApps.AssemblyOf("Pigeon.Gateway"), new Dictionary<string, string>
        {
            ["ConnectionStrings__Pigeon"] = "Host=127.0.0.1;Username=nobody",
            ["Pigeon__Auth__TokenSigningKey"] = Convert.ToBase64String(new byte[32]),
            ["Urls"] = "http://127.0.0.1:1",
            ["Pigeon__Metrics__Port"] = port,
        }, TimeSpan.FromSeconds(60));

        Assert.Equal(2, exitCode);
        Assert.Contains("Pigeon:Metrics:Port", output, StringComparison.Ordinal);
        Assert.Contains(expected, output, StringComparison.Ordinal);
    }
}

