using System.Net;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Pigeon.Api;
using Pigeon.Gateway.Accounts;
using Pigeon.Gateway.Apis;
using Pigeon.Gateway.Authentication;
using Pigeon.Gateway.Errors;
using Pigeon.Gateway.Failover;
using Pigeon.Gateway.Limits;
using Pigeon.Grains.Abstractions.Health;
using Pigeon.Hosting;
using Pigeon.Hosting.Cluster;
using Pigeon.Hosting.Configuration;
using Pigeon.Hosting.Database;
using Prometheus;

namespace Pigeon.Gateway.Hosting;

/// <summary>
/// Composes the HTTP API (authentication, limits, errors and the routes) for either host that serves
/// it: the gateway, an Orleans client of the cluster in a process of its own, or a silo that serves
/// it co-hosted (<c>Pigeon:Silo:ServeApi</c>) and calls its grains in-process. The API reaches grains
/// only through <see cref="IGrainFactory"/>, which both hosts provide.
/// </summary>
public static class GatewayHostingExtensions
{
    /// <summary>The most connections the gateway's view of the membership table opens.</summary>
    private const int MembershipPoolSize = 4;

    /// <summary>Reads and validates every option of the gateway at once; returns the problems, none when usable.</summary>
    public static IReadOnlyList<string> ValidatePigeonGatewayConfiguration(this IConfiguration configuration)
    {
        var validator = new GatewayOptionsValidator();
        var problems = new List<string>(configuration.ValidatePigeonApiConfiguration());
        problems.AddRange(PigeonClusterOptions.Check(configuration));
        var clusterProblems = configuration.Check<GatewayClusterOptions>(GatewayClusterOptions.Section, validator).ToList();
        problems.AddRange(clusterProblems);
        var staticGateways = clusterProblems.Count == 0
            ? (configuration.GetSection(GatewayClusterOptions.Section).Get<GatewayClusterOptions>() ?? new GatewayClusterOptions()).StaticGateways
            : [];
        if (staticGateways.Count == 0 && configuration.ConnectionString() is null)
        {
            problems.Add(PigeonDatabase.MissingConnectionString("the silos cluster on"));
        }

        return problems;
    }

    /// <summary>Reads and validates the options of the HTTP API, whichever host serves it; returns the problems, none when usable.</summary>
    public static IReadOnlyList<string> ValidatePigeonApiConfiguration(this IConfiguration configuration)
    {
        var validator = new GatewayOptionsValidator();
        var problems = new List<string>();
        problems.AddRange(configuration.Check<AuthOptions>(AuthOptions.Section, validator));
        problems.AddRange(configuration.Check<LimitsOptions>(LimitsOptions.Section, validator));
        problems.AddRange(configuration.Check<ForwardedHeadersSettings>(ForwardedHeadersSettings.Section, validator));
        problems.AddRange(configuration.Check(FailoverOptions.Section, new FailoverOptionsValidator()));

        // The checks across settings run only on sections that are well formed themselves.
        var metricsProblems = configuration.Check<MetricsOptions>(MetricsOptions.Section, validator).ToList();
        problems.AddRange(metricsProblems);
        var metrics = metricsProblems.Count == 0 ? configuration.GetSection(MetricsOptions.Section).Get<MetricsOptions>() : null;
        if (metrics is { Port: not 0 } && !ListensOn(configuration, metrics.Port))
        {
            problems.Add($"{MetricsOptions.Section}:Port {metrics.Port} is not a port of the addresses in Urls (\"{configuration[WebHostDefaults.ServerUrlsKey]}\"): add one, e.g. http://+:{metrics.Port}, or /metrics answers nowhere.");
        }

        return problems;
    }

    // Kestrel endpoints configured in a section of their own are not checked: only Urls is.
    private static bool ListensOn(IConfiguration configuration, int port) =>
        configuration.GetSection("Kestrel:Endpoints").GetChildren().Any()
        || (configuration[WebHostDefaults.ServerUrlsKey] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Any(url => TryParsePort(url) == port);

    private static int? TryParsePort(string url)
    {
        try
        {
            return BindingAddress.Parse(url).Port;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>
    /// Adds everything the gateway needs to the builder: the HTTP API (<see cref="AddPigeonApi"/>),
    /// the health checks, and the Orleans client through which the API reaches the silos.
    /// </summary>
    public static WebApplicationBuilder AddPigeonGateway(this WebApplicationBuilder builder)
    {
        builder.AddPigeonApi();
        builder.AddPigeonServiceDefaults().AddCheck<ClusterReachableHealthCheck>("cluster", tags: [PigeonServiceDefaults.ReadyTag]);
        builder.UsePigeonOrleansClient();
        return builder;
    }

    /// <summary>
    /// Adds the HTTP API's services: its options (validated at start), JSON and problem details,
    /// bearer authentication, rate limits and the request-head limits of Kestrel. The host brings an
    /// <see cref="IGrainFactory"/>: an Orleans client in the gateway, the silo's own when co-hosted.
    /// </summary>
    public static WebApplicationBuilder AddPigeonApi(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var configuration = builder.Configuration;
        var services = builder.Services;
        var limits = configuration.GetSection(LimitsOptions.Section).Get<LimitsOptions>() ?? new LimitsOptions();

        services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.Section).ValidateOnStart();
        services.AddOptions<LimitsOptions>().BindConfiguration(LimitsOptions.Section).ValidateOnStart();
        services.AddOptions<GatewayClusterOptions>().BindConfiguration(GatewayClusterOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AuthOptions>, GatewayOptionsValidator>();
        services.AddSingleton<IValidateOptions<LimitsOptions>, GatewayOptionsValidator>();
        services.AddSingleton<IValidateOptions<GatewayClusterOptions>, GatewayOptionsValidator>();
        services.AddOptions<MetricsOptions>().BindConfiguration(MetricsOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<MetricsOptions>, GatewayOptionsValidator>();
        services.AddOptions<ForwardedHeadersSettings>().BindConfiguration(ForwardedHeadersSettings.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ForwardedHeadersSettings>, GatewayOptionsValidator>();
        services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<ForwardedHeadersSettings>>((forwarded, settings) =>
        {
            // Only the configured proxies: the framework's default would trust loopback.
            forwarded.ForwardedHeaders = ForwardedHeaders.XForwardedFor;
            forwarded.KnownProxies.Clear();
            forwarded.KnownIPNetworks.Clear();
            foreach (var network in settings.Value.KnownNetworks)
            {
                forwarded.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(network));
            }

            forwarded.ForwardLimit = settings.Value.ForwardLimit;
        });

        services.ConfigureHttpJsonOptions(json => PigeonJson.Apply(json.SerializerOptions));
        services.Configure<RouteHandlerOptions>(routes => routes.ThrowOnBadRequest = true);
        services.AddProblemDetails(problems => problems.CustomizeProblemDetails = context =>
        {
            if (context.ProblemDetails.Type is null || !context.ProblemDetails.Type.StartsWith(ProblemTypes.Prefix, StringComparison.Ordinal))
            {
                context.ProblemDetails.Type = Problems.ForStatus(context.ProblemDetails.Status ?? context.HttpContext.Response.StatusCode);
            }
        });
        services.AddExceptionHandler<ExceptionProblemHandler>();
        services.AddOpenApi();

        services.AddSingleton<TokenService>();
        services.AddAuthentication(BearerTokenHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, BearerTokenHandler>(BearerTokenHandler.SchemeName, _ => { });
        services.AddAuthorization();
        services.AddPigeonRateLimits(limits);
        services.AddSingleton<LongPollLimiter>();
        services.AddSingleton<GrainReferences>();
        services.AddSingleton<RecipientDirectory>();
        services.AddSingleton<SealedDepositLimiter>();
        services.AddPigeonFailover();
        builder.WebHost.ConfigureKestrel(kestrel => RequestHeadLimit.ConfigureKestrel(kestrel, limits));
        return builder;
    }

    /// <summary>
    /// Makes the gateway an Orleans client of the Pigeon cluster (<c>Pigeon:Cluster</c>): through the
    /// ADO.NET membership table on PostgreSQL, or through fixed silo endpoints when
    /// <c>Pigeon:Cluster:StaticGateways</c> lists any; with <see cref="GrainCallFailover"/> watching
    /// its connections.
    /// </summary>
    public static WebApplicationBuilder UsePigeonOrleansClient(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var cluster = configuration.GetSection(GatewayClusterOptions.Section).Get<GatewayClusterOptions>() ?? new GatewayClusterOptions();
        builder.UseOrleansClient(client =>
        {
            var membership = cluster.StaticGateways.Count > 0 ? null : configuration.ConnectionString();
            client.UsePigeonCluster(configuration, membership, MembershipPoolSize, "pigeon-gateway");
            if (membership is null)
            {
                client.UseStaticClustering([.. cluster.StaticGateways.Select(IPEndPoint.Parse)]);
            }

            client.Configure<GatewayOptions>(configuration.GetSection("Orleans:Gateway"));
            client.WatchSiloConnections();
        });
        return builder;
    }

    /// <summary>Maps the gateway: the HTTP API (<see cref="MapPigeonApi"/>), <c>/metrics</c> and the health endpoints.</summary>
    public static WebApplication MapPigeonGateway(this WebApplication app)
    {
        app.MapPigeonApi();
        app.MapPigeonMetrics();
        app.MapPigeonHealthEndpoints();
        return app;
    }

    /// <summary>
    /// Maps <c>/metrics</c> (Prometheus text), only on <c>Pigeon:Metrics:Port</c> when that is set
    /// (<see cref="MetricsOptions"/>), so that a Service or ingress publishing the API port does not publish the metrics.
    /// </summary>
    public static WebApplication MapPigeonMetrics(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var metricsPort = (app.Configuration.GetSection(MetricsOptions.Section).Get<MetricsOptions>() ?? new MetricsOptions()).Port;
        var metrics = app.MapMetrics("/metrics");
        if (metricsPort != 0)
        {
            metrics.Add(endpoint => endpoint.RequestDelegate = OnlyOnPort(metricsPort, endpoint.RequestDelegate!));
        }

        return app;
    }

    /// <summary>
    /// Puts the HTTP API's middleware in front of every endpoint of <paramref name="app"/> (request-head
    /// and body limits, problems for every error, authentication, rate limits) and maps its routes
    /// and the OpenAPI document. The host maps its own health and metrics endpoints after it.
    /// </summary>
    public static WebApplication MapPigeonApi(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var limits = app.Services.GetRequiredService<IOptions<LimitsOptions>>().Value;
        // First: nothing else reads a header before its size and bytes are checked.
        app.UseMiddleware<RequestHeadLimit>(limits);
        if (app.Services.GetRequiredService<IOptions<ForwardedHeadersSettings>>().Value.KnownNetworks.Count > 0)
        {
            app.UseForwardedHeaders();
        }

        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseMiddleware<RequestBodyLimit>(limits.MaxRequestBodyBytes);
        app.UseMiddleware<JsonCharset>();
        app.UseHttpMetrics();
        app.UseAuthentication();
        app.UseRateLimiter();
        app.UseAuthorization();

        app.MapAccountsApi();
        app.MapAuthApi();
        app.MapKeysApi();
        app.MapMessagesApi();
        app.MapSealedApi();
        app.MapDevicesApi();
        app.MapOpenApi();
        return app;
    }

    // The local port, not the Host header, decides: a client could name any port in its Host header.
    // Elsewhere the answer is the same 404 ProblemDetails as for any unknown path.
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

/// <summary>Ready when a silo answers a ping within two seconds.</summary>
internal sealed class ClusterReachableHealthCheck(IGrainFactory grains) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await grains.GetGrain<IPingGrain>(0).PingAsync().WaitAsync(TimeSpan.FromSeconds(2), cancellationToken);
            return HealthCheckResult.Healthy("A silo answered.");
        }
        catch (Exception exception) when (exception is TimeoutException or Orleans.Runtime.OrleansException or InvalidOperationException)
        {
            return HealthCheckResult.Unhealthy("No silo answered.");
        }
    }
}
