using System.Net;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Pigeon.Grains.Hosting;
using Pigeon.Hosting;
using Pigeon.Hosting.Cluster;
using Pigeon.Hosting.Configuration;
using Pigeon.Hosting.Database;
using Prometheus;

namespace Pigeon.Silo.Hosting;

/// <summary>Configures a Pigeon silo: Orleans on PostgreSQL, Pigeon's grains and the health endpoints.</summary>
public static class PigeonSiloHostingExtensions
{
    /// <summary>
    /// Reads and validates the silo's options, reporting every bad value at once.
    /// Returns the problems, or none when the configuration is usable.
    /// </summary>
    public static IReadOnlyList<string> ValidatePigeonSiloConfiguration(this IConfiguration configuration)
    {
        var problems = new List<string>();
        if (configuration.ConnectionString() is null)
        {
            problems.Add(PigeonDatabase.MissingConnectionString("the silos cluster and keep their state in"));
        }

        problems.AddRange(configuration.Check(PigeonSiloOptions.Section, new PigeonSiloOptionsValidator()));
        problems.AddRange(PigeonClusterOptions.Check(configuration));
        return problems;
    }

    /// <summary>
    /// Makes this host an Orleans silo of the cluster in <c>Pigeon:Cluster</c>, with ADO.NET clustering
    /// on PostgreSQL, Pigeon's grains and their grain storage on one data source, and health checks.
    /// </summary>
    public static WebApplicationBuilder UsePigeonSilo(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var connectionString = configuration.ConnectionString()
            ?? throw new InvalidOperationException(PigeonDatabase.MissingConnectionString("the silos cluster on"));
        var siloOptions = configuration.GetSection(PigeonSiloOptions.Section).Get<PigeonSiloOptions>() ?? new PigeonSiloOptions();

        builder.Services.AddOptions<PigeonSiloOptions>().BindConfiguration(PigeonSiloOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<PigeonSiloOptions>, PigeonSiloOptionsValidator>();
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = siloOptions.ShutdownTimeout);
        builder.AddPigeonServiceDefaults().AddCheck<SiloActiveHealthCheck>("silo-active", tags: [PigeonServiceDefaults.ReadyTag]);

        builder.UseOrleans(silo =>
        {
            silo.UsePigeonCluster(configuration, connectionString, siloOptions.MembershipDatabasePoolSize, "pigeon-silo-membership");
            silo.ConfigureEndpoints(
                IPAddress.Parse(siloOptions.AdvertisedAddress),
                siloOptions.SiloPort,
                siloOptions.GatewayPort,
                siloOptions.ListenOnAnyHostAddress);
            silo.AddPigeonGrains(PigeonDatabaseSettings.CreateDataSource(connectionString, "pigeon-silo", siloOptions.DatabasePoolSize));
            // Failure detection and timeouts are tunable from configuration (Orleans:Membership).
            silo.Services.Configure<ClusterMembershipOptions>(configuration.GetSection("Orleans:Membership"));
        });
        return builder;
    }

    /// <summary>
    /// Maps the health endpoints (<c>/health/ready</c>: this silo is Active in the cluster) and
    /// <c>/metrics</c> (Prometheus text: the runtime's and .NET meters, Pigeon's group commit among them).
    /// </summary>
    public static WebApplication MapPigeonSiloHealth(this WebApplication app)
    {
        app.MapMetrics("/metrics");
        // prometheus-net starts listening to .NET meters at its first collection; collect once now so
        // that what the silo measures before the first scrape is counted too.
        Metrics.DefaultRegistry.CollectAndExportAsTextAsync(Stream.Null).GetAwaiter().GetResult();
        app.MapPigeonHealthEndpoints();
        return app;
    }
}
