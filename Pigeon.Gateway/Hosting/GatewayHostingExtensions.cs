using System.Net;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Pigeon.Api;
using Pigeon.Gateway.Accounts;
using Pigeon.Gateway.Apis;
using Pigeon.Gateway.Attachments;
using Pigeon.Gateway.Authentication;
using Pigeon.Gateway.Errors;
using Pigeon.Gateway.Failover;
using Pigeon.Gateway.Limits;
using Pigeon.Gateway.Metrics;
using Pigeon.Gateway.Provisioning;
using Pigeon.Grains.Abstractions.Health;
using Pigeon.Hosting;
using Pigeon.Hosting.Cluster;
using Pigeon.Hosting.Configuration;
using Pigeon.Hosting.Database;
using Pigeon.Hosting.Telemetry;

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
        problems.AddRange(MetricsOptions.Check(configuration));
        problems.AddRange(configuration.Check(AttachmentsOptions.Section, new AttachmentsOptionsValidator()));
        problems.AddRange(configuration.Check(ProvisioningOptions.Section, new ProvisioningOptionsValidator()));
        return problems;
    }

    /// <summary>
    /// Adds everything the gateway needs to the builder: the HTTP API (<see cref="AddPigeonApi"/>),
    /// telemetry and health checks, and the Orleans client through which the API reaches the silos.
    /// </summary>
    public static WebApplicationBuilder AddPigeonGateway(this WebApplicationBuilder builder)
    {
        builder.AddPigeonApi();
        builder.Services.AddOptions<GatewayClusterOptions>().BindConfiguration(GatewayClusterOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<GatewayClusterOptions>, GatewayOptionsValidator>();
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
        services.AddSingleton<IValidateOptions<AuthOptions>, GatewayOptionsValidator>();
        services.AddSingleton<IValidateOptions<LimitsOptions>, GatewayOptionsValidator>();
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
        services.AddSingleton<ApiMetrics>();
        services.AddPigeonAttachments(configuration);
        services.AddOptions<ProvisioningOptions>().BindConfiguration(ProvisioningOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ProvisioningOptions>, ProvisioningOptionsValidator>();
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
        app.MapPigeonDefaultEndpoints();
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
        if (app.Services.GetRequiredService<IOptions<AuthOptions>>().Value.Origins.Count == 0)
        {
            GatewayLog.NoOrigins(app.Logger);
        }

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
        app.UseAuthentication();
        app.UseRateLimiter();
        app.UseAuthorization();

        app.MapAccountsApi();
        app.MapAuthApi();
        app.MapKeysApi();
        app.MapMessagesApi();
        app.MapSealedApi();
        app.MapDevicesApi();
        app.MapAttachmentsApi();
        app.MapProvisioningApi();
        app.MapOpenApi();
        return app;
    }
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
