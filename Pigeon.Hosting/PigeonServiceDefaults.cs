using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Pigeon.Hosting.Telemetry;

namespace Pigeon.Hosting;

/// <summary>
/// What every Pigeon host sets up the same way (in the spirit of eShop's ServiceDefaults): Pigeon's
/// clock, telemetry (<see cref="PigeonTelemetry"/>) and the health endpoints Kubernetes probes. Each
/// host adds the checks that decide its own readiness with <see cref="ReadyTag"/>.
/// </summary>
public static class PigeonServiceDefaults
{
    /// <summary>The tag of the health checks that decide readiness.</summary>
    public const string ReadyTag = "ready";

    /// <summary>
    /// Registers Pigeon's clock (<see cref="PigeonTime.ServiceKey"/>, the system clock unless a test put
    /// another first), telemetry named after the application, and health checks.
    /// </summary>
    public static IHealthChecksBuilder AddPigeonServiceDefaults(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddKeyedSingleton(PigeonTime.ServiceKey, TimeProvider.System);
        builder.AddPigeonTelemetry(builder.Environment.ApplicationName);
        return builder.Services.AddHealthChecks();
    }

    /// <summary>Maps the endpoints every host answers: <c>/metrics</c> (<see cref="PigeonTelemetry.MapPigeonMetrics"/>) and the health endpoints.</summary>
    public static WebApplication MapPigeonDefaultEndpoints(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapPigeonMetrics(app.Configuration);
        app.MapPigeonHealthEndpoints();
        return app;
    }

    /// <summary>
    /// Maps <c>/health/live</c>, which checks nothing beyond the process answering (so an outage
    /// elsewhere never gets a pod restarted), and <c>/health/ready</c>, which runs the checks tagged
    /// <see cref="ReadyTag"/>.
    /// </summary>
    public static IEndpointRouteBuilder MapPigeonHealthEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        endpoints.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadyTag) });
        return endpoints;
    }
}
