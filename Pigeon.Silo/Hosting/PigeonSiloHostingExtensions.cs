using System.Net;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;
using Orleans.Connections.Security;
using Pigeon.Grains.Abstractions.Transport;
using Pigeon.Grains.Hosting;
using Prometheus;

namespace Pigeon.Silo.Hosting;

/// <summary>Configures a Pigeon silo: Orleans on PostgreSQL, Pigeon's grains and the health endpoints.</summary>
public static class PigeonSiloHostingExtensions
{
    /// <summary>The tag of health checks that decide readiness.</summary>
    public const string ReadyTag = "ready";

    /// <summary>
    /// Reads and validates the silo's options, reporting every bad value at once.
    /// Returns the problems, or none when the configuration is usable.
    /// </summary>
    public static IReadOnlyList<string> ValidatePigeonSiloConfiguration(this IConfiguration configuration)
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(configuration.GetConnectionString(PigeonSiloOptions.ConnectionStringName)))
        {
            problems.Add($"ConnectionStrings:{PigeonSiloOptions.ConnectionStringName} is missing: set the PostgreSQL connection string (environment variable ConnectionStrings__{PigeonSiloOptions.ConnectionStringName}).");
        }

        var options = configuration.GetSection(PigeonSiloOptions.Section).Get<PigeonSiloOptions>() ?? new PigeonSiloOptions();
        var result = new PigeonSiloOptionsValidator().Validate(null, options);
        if (result.Failed)
        {
            problems.AddRange(result.Failures);
        }

        problems.AddRange(ClusterTlsOptions.From(configuration).Validate());
        return problems;
    }

    /// <summary>
    /// Makes this host an Orleans silo with ADO.NET clustering and grain storage on PostgreSQL
    /// (invariant <c>Npgsql</c>), Pigeon's grains and their database access, and health checks.
    /// </summary>
    public static WebApplicationBuilder UsePigeonSilo(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var connectionString = configuration.GetConnectionString(PigeonSiloOptions.ConnectionStringName)
            ?? throw new InvalidOperationException($"ConnectionStrings:{PigeonSiloOptions.ConnectionStringName} is missing.");
        var siloOptions = configuration.GetSection(PigeonSiloOptions.Section).Get<PigeonSiloOptions>() ?? new PigeonSiloOptions();

        builder.Services.AddOptions<PigeonSiloOptions>().BindConfiguration(PigeonSiloOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<PigeonSiloOptions>, PigeonSiloOptionsValidator>();
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = siloOptions.ShutdownTimeout);
        builder.Services.AddSingleton(_ =>
        {
            var dataSource = new NpgsqlDataSourceBuilder(connectionString) { Name = "pigeon-silo" };
            dataSource.ConnectionStringBuilder.MaxPoolSize = siloOptions.DatabasePoolSize;
            dataSource.ConnectionStringBuilder.ApplicationName = "pigeon-silo";
            dataSource.ConnectionStringBuilder.ApplyPigeonSettings();
            return dataSource.Build();
        });
        // Orleans opens its own pool from its connection string; bound it too so that silos × pools
        // stays below PostgreSQL's max_connections instead of failing deposits with "too many clients".
        var orleansConnectionString = new NpgsqlConnectionStringBuilder(connectionString)
        {
            MaxPoolSize = siloOptions.OrleansDatabasePoolSize,
            ApplicationName = "pigeon-silo-orleans",
        }.ConnectionString;
        builder.Services.AddPigeonGrains();
        builder.Services.AddHealthChecks().AddCheck<SiloActiveHealthCheck>("silo-active", tags: [ReadyTag]);

        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(cluster =>
            {
                cluster.ServiceId = siloOptions.ServiceId;
                cluster.ClusterId = siloOptions.ClusterId;
            });
            silo.ConfigureEndpoints(
                IPAddress.Parse(siloOptions.AdvertisedAddress),
                siloOptions.SiloPort,
                siloOptions.GatewayPort,
                siloOptions.ListenOnAnyHostAddress);
            silo.UseAdoNetClustering(clustering =>
            {
                clustering.Invariant = "Npgsql";
                clustering.ConnectionString = orleansConnectionString;
            });
            silo.AddAdoNetGrainStorage(PigeonStorage.Accounts, storage =>
            {
                storage.Invariant = "Npgsql";
                storage.ConnectionString = orleansConnectionString;
            });
            // Failure detection and timeouts are tunable from configuration (Orleans:Membership).
            silo.Services.Configure<ClusterMembershipOptions>(configuration.GetSection("Orleans:Membership"));
            var tls = ClusterTlsOptions.From(configuration);
            if (tls.Enabled)
            {
                // Loaded once for the process's life; rotating the files takes a restart (a rolling update).
                var certificates = ClusterCertificates.Load(tls);
                silo.UseTls(certificates.Certificate, options => RequireClusterPeers(options, certificates));
            }
        });
        return builder;
    }

    /// <summary>Mutual TLS among the cluster: silos and gateways alike must present a certificate of its authority.</summary>
    internal static void RequireClusterPeers(TlsOptions options, ClusterCertificates certificates)
    {
        options.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        options.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
        options.RemoteCertificateValidation = (peer, _, _) => certificates.IsIssuedByTheCluster(peer);
    }

    /// <summary>
    /// Maps <c>/health/live</c> (the process answers; checks nothing else, so a database outage
    /// does not get the silo restarted), <c>/health/ready</c> (this silo is Active in the cluster) and
    /// <c>/metrics</c> (Prometheus text: the runtime's and .NET meters, Pigeon's group commit among them).
    /// </summary>
    public static WebApplication MapPigeonSiloHealth(this WebApplication app)
    {
        app.MapMetrics("/metrics");
        // prometheus-net starts listening to .NET meters at its first collection; collect once now so
        // that what the silo measures before the first scrape is counted too.
        Metrics.DefaultRegistry.CollectAndExportAsTextAsync(Stream.Null).GetAwaiter().GetResult();
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadyTag) });
        return app;
    }
}
