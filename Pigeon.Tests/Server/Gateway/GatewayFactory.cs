using System.Collections.Concurrent;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;
using Pigeon.Gateway.Hosting;
using Pigeon.Hosting.Cluster;

namespace Pigeon.Tests.Gateway;

/// <summary>
/// The real gateway (its Program, pipeline and options) in memory, as an Orleans client of the
/// test cluster through its silos' gateway endpoints; its own clock is fake and its logs are kept.
/// </summary>
/// <param name="cluster">The cluster it is a client of.</param>
/// <param name="settings">Settings over the defaults.</param>
/// <param name="grainClock">The clock the cluster's grains read, when a test advances it.</param>
public sealed class GatewayFactory(TestCluster cluster, IReadOnlyDictionary<string, string?>? settings = null, FakeTimeProvider? grainClock = null)
    : WebApplicationFactory<Program>, IApiHost
{
    /// <summary>The token key this gateway signs with.</summary>
    public string TokenSigningKey { get; } = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    /// <summary>The gateway's own clock (token and challenge expiry).</summary>
    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    /// <summary>Every log line the gateway wrote, with its exception text.</summary>
    public ConcurrentQueue<string> Logs { get; } = new();

    /// <inheritdoc />
    public FakeTimeProvider GrainClock => grainClock ?? throw new InvalidOperationException("This gateway was made without the cluster's clock.");

    /// <inheritdoc />
    public IGrainFactory Grains => cluster.GrainFactory;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        builder.UseSetting($"{PigeonClusterOptions.Section}:ClusterId", cluster.Options.ClusterId);
        builder.UseSetting($"{PigeonClusterOptions.Section}:ServiceId", cluster.Options.ServiceId);
        var gateways = cluster.Silos.Select(s => s.GatewayAddress.Endpoint.ToString()).ToList();
        for (var i = 0; i < gateways.Count; i++)
        {
            builder.UseSetting($"{GatewayClusterOptions.Section}:StaticGateways:{i}", gateways[i]);
        }

        this.ConfigureApi(builder, settings);
    }
}
