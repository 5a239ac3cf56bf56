using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Pigeon.Hosting.Telemetry;

/// <summary>
/// One telemetry pipeline for every Pigeon host, on OpenTelemetry: the meters of ASP.NET Core, Kestrel,
/// the .NET runtime, Orleans, Npgsql and Pigeon's own (<see cref="PigeonMeters"/>), served in
/// Prometheus' text format at <c>/metrics</c>; and, when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> names a
/// collector, traces of HTTP requests, grain calls and PostgreSQL commands sent there over OTLP.
/// </summary>
public static class PigeonTelemetry
{
    /// <summary>The standard OpenTelemetry setting that names the collector; traces are recorded only when it is set.</summary>
    public const string OtlpEndpointKey = "OTEL_EXPORTER_OTLP_ENDPOINT";

    // Orleans' meter and its activity sources (grain calls on both ends, and the runtime's own).
    private const string OrleansMeter = "Microsoft.Orleans";
    private static readonly string[] OrleansSources = ["Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application"];

    /// <summary>Whether traces are exported: an OTLP endpoint is configured.</summary>
    public static bool ExportsTraces(IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration[OtlpEndpointKey]);

    /// <summary>Adds the metrics and, with an OTLP endpoint, the traces of this host, named <paramref name="serviceName"/>.</summary>
    public static IHostApplicationBuilder AddPigeonTelemetry(this IHostApplicationBuilder builder, string serviceName)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var ownMeters = new OwnMetersView();
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName))
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter(OrleansMeter, PigeonMeters.Wildcard)
                .AddNpgsqlInstrumentation()
                // Resolved while the provider is built, before it listens to any meter.
                .AddInstrumentation(services => ownMeters.Of(services.GetRequiredService<IMeterFactory>()))
                .AddView(ownMeters.Select)
                // Every scrape reads the current values: a test or a scraper polling twice in a row sees both.
                .AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0));
        if (ExportsTraces(builder.Configuration))
        {
            // The endpoint, protocol and headers come from the standard OTEL_EXPORTER_OTLP_* settings.
            telemetry.WithTracing(tracing => tracing
                .AddAspNetCoreInstrumentation(http => http.Filter = context => !IsProbeOrScrape(context.Request.Path))
                .AddSource(OrleansSources)
                .AddSource(PigeonMeters.Wildcard)
                .AddNpgsql()
                .AddOtlpExporter());
        }

        return builder;
    }

    /// <summary>
    /// Maps <c>/metrics</c>, only on <c>Pigeon:Metrics:Port</c> when that is set (<see cref="MetricsOptions"/>), so
    /// that a Service or ingress publishing the API port does not publish the metrics.
    /// </summary>
    public static IEndpointRouteBuilder MapPigeonMetrics(this IEndpointRouteBuilder endpoints, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapPrometheusScrapingEndpoint("/metrics").OnlyOnMetricsPort(configuration);
        return endpoints;
    }

    /// <summary>
    /// Makes the endpoints of <paramref name="builder"/> answer only on connections to
    /// <c>Pigeon:Metrics:Port</c> when that is set, and 404 on every other port.
    /// </summary>
    public static TBuilder OnlyOnMetricsPort<TBuilder>(this TBuilder builder, IConfiguration configuration) where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        var port = MetricsOptions.From(configuration).Port;
        if (port != 0)
        {
            builder.Add(endpoint => endpoint.RequestDelegate = OnlyOnPort(port, endpoint.RequestDelegate!));
        }

        return builder;
    }

    private static bool IsProbeOrScrape(PathString path) =>
        path.StartsWithSegments("/health", StringComparison.Ordinal) || path.StartsWithSegments("/metrics", StringComparison.Ordinal);

    // The local port, not the Host header, decides: a client could name any port in its Host header.
    // Elsewhere the answer is the same 404 as for any unknown path.
    private static RequestDelegate OnlyOnPort(int port, RequestDelegate next) => context =>
    {
        if (context.Connection.LocalPort == port)
        {
            return next(context);
        }

        context.Response.StatusCode = StatusCodes.Status404NotFound;
        return Task.CompletedTask;
    };
}

/// <summary>The names of Pigeon's own meters (and activity sources), which the telemetry pipeline listens to.</summary>
public static class PigeonMeters
{
    /// <summary>Every meter and activity source whose name starts with <c>Pigeon.</c>.</summary>
    public const string Wildcard = "Pigeon.*";

    /// <summary>The HTTP API's meter: deposits, deliveries, acknowledgements, long-polls, registrations, tokens.</summary>
    public const string Api = "Pigeon.Api";

    /// <summary>The gateway's failover meter: silo connections lost, grain calls sent again.</summary>
    public const string Failover = "Pigeon.Failover";

    /// <summary>The mailboxes' meter and activity source: group commits.</summary>
    public const string Mailboxes = "Pigeon.Mailboxes";
}

/// <summary>
/// A view that keeps a host's metrics to its own meters: it drops the instruments of meters another
/// host's <see cref="IMeterFactory"/> created. A meter provider listens to meters by name across the
/// whole process, so without it every host in one process (the test hosts, a co-hosting silo beside
/// others) would also count the measurements of every other host's <c>Pigeon.Api</c> or ASP.NET Core
/// meter as its own, and would lose a series it shared with a host that has stopped. Meters that no
/// factory made (Npgsql's, the runtime's) belong to the process and are kept.
/// </summary>
internal sealed class OwnMetersView
{
    private IMeterFactory? _host;

    /// <summary>Binds the view to the host's meter factory; returns the view.</summary>
    public OwnMetersView Of(IMeterFactory host)
    {
        _host = host;
        return this;
    }

    /// <summary>The view: <see cref="MetricStreamConfiguration.Drop"/> for another host's instrument, else the default.</summary>
    public MetricStreamConfiguration? Select(Instrument instrument) =>
        instrument.Meter.Scope is IMeterFactory owner && _host is not null && !ReferenceEquals(owner, _host)
            ? MetricStreamConfiguration.Drop
            : null;
}
