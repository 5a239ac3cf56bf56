using System.Net;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Dashboard;
using Pigeon.Gateway.Hosting;
using Pigeon.Grains.Hosting;
using Pigeon.Hosting;
using Pigeon.Hosting.Cluster;
using Pigeon.Hosting.Configuration;
using Pigeon.Hosting.Database;
using Pigeon.Hosting.Telemetry;

namespace Pigeon.Silo.Hosting;

/// <summary>Configures a Pigeon silo: Orleans on PostgreSQL, Pigeon's grains, the health endpoints and, co-hosted, the HTTP API.</summary>
public static class PigeonSiloHostingExtensions
{
    /// <summary>Where the Orleans dashboard is served when <see cref="PigeonSiloOptions.Dashboard"/> is set.</summary>
    public const string DashboardPath = "/dashboard";

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

        var siloProblems = configuration.Check(PigeonSiloOptions.Section, new PigeonSiloOptionsValidator()).ToList();
        problems.AddRange(siloProblems);
        problems.AddRange(PigeonClusterOptions.Check(configuration));
        if (!(siloProblems.Count == 0 && ServesApi(configuration)))
        {
            // The API's checks include these; a silo without the API checks them on its own.
            problems.AddRange(MetricsOptions.Check(configuration));
        }

        if (siloProblems.Count == 0 && SiloOptions(configuration).Dashboard && MetricsOptions.From(configuration).Port == 0)
        {
            problems.Add($"{PigeonSiloOptions.Section}:Dashboard needs {MetricsOptions.Section}:Port: the dashboard is served on the metrics port only.");
        }

        if (siloProblems.Count == 0 && ServesApi(configuration))
        {
            problems.AddRange(configuration.ValidatePigeonApiConfiguration());
        }

        return problems;
    }

    /// <summary>Whether this silo serves the HTTP API itself (<see cref="PigeonSiloOptions.ServeApi"/>).</summary>
    public static bool ServesApi(IConfiguration configuration) => SiloOptions(configuration).ServeApi;

    private static PigeonSiloOptions SiloOptions(IConfiguration configuration) =>
        configuration.GetSection(PigeonSiloOptions.Section).Get<PigeonSiloOptions>() ?? new PigeonSiloOptions();

    /// <summary>
    /// Makes this host an Orleans silo of the cluster in <c>Pigeon:Cluster</c>, with ADO.NET clustering
    /// on PostgreSQL, Pigeon's grains and their grain storage on one data source, and health checks;
    /// and, when <see cref="PigeonSiloOptions.ServeApi"/> is set, the HTTP API, co-hosted.
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
            if (siloOptions.Dashboard)
            {
                // Log lines stay in the logs: the dashboard's live trace is off.
                silo.AddDashboard(dashboard => dashboard.HideTrace = true);
            }
        });
        if (siloOptions.ServeApi)
        {
            builder.AddPigeonApi();
        }

        return builder;
    }

    /// <summary>
    /// Maps the HTTP API when the silo serves it, the health endpoints (<c>/health/ready</c>: this
    /// silo is Active in the cluster), <c>/metrics</c> (the runtime's, Orleans', Npgsql's and
    /// Pigeon's meters, the group commit among them) and, when enabled, the Orleans dashboard at
    /// <c>/dashboard/</c> on the metrics port only.
    /// </summary>
    public static WebApplication MapPigeonSilo(this WebApplication app)
    {
        if (ServesApi(app.Configuration))
        {
            app.MapPigeonApi();
        }

        if (SiloOptions(app.Configuration).Dashboard)
        {
            app.MapOrleansDashboard(routePrefix: DashboardPath).OnlyOnMetricsPort(app.Configuration);
        }

        app.MapPigeonDefaultEndpoints();
        return app;
    }
}
