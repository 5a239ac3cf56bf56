using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace Pigeon.Gateway.Failover;

/// <summary>Wires <see cref="GrainCallFailover"/> into whichever host serves the API.</summary>
public static class FailoverHostingExtensions
{
    /// <summary>
    /// Adds <see cref="GrainCallFailover"/> with its options (<c>Pigeon:Failover</c>). In a co-hosting
    /// silo the API's calls are local and only its retries of refused calls apply; a gateway also
    /// watches its connections (<see cref="WatchSiloConnections"/>).
    /// </summary>
    public static IServiceCollection AddPigeonFailover(this IServiceCollection services)
    {
        services.AddOptions<FailoverOptions>().BindConfiguration(FailoverOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<FailoverOptions>, FailoverOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<GrainCallFailover>();
        return services;
    }

    /// <summary>
    /// Makes <see cref="GrainCallFailover"/> the Orleans client's connection observer, and makes a
    /// cancelled call wait for the grain's answer (Orleans'
    /// <see cref="MessagingOptions.WaitForCancellationAcknowledgement"/>), so that a receive cancelled
    /// after a silo loss still reports what its acknowledgement deleted.
    /// </summary>
    public static IClientBuilder WatchSiloConnections(this IClientBuilder client)
    {
        ArgumentNullException.ThrowIfNull(client);
        client.Services.AddSingleton<IClusterConnectionStatusObserver>(provider => provider.GetRequiredService<GrainCallFailover>());
        client.Configure<ClientMessagingOptions>(messaging => messaging.WaitForCancellationAcknowledgement = true);
        return client;
    }
}
