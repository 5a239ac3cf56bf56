using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace Pigeon.Gateway.Failover;

/// <summary>Wires <see cref="GrainCallFailover"/> into the gateway's Orleans client.</summary>
public static class FailoverHostingExtensions
{
    /// <summary>
    /// Adds <see cref="GrainCallFailover"/> with its options (<c>Pigeon:Failover</c>) as the client's
    /// connection observer, and makes a cancelled call wait for the grain's answer (Orleans'
    /// <see cref="MessagingOptions.WaitForCancellationAcknowledgement"/>), so that a receive cancelled
    /// after a silo loss still reports what its acknowledgement deleted.
    /// </summary>
    public static IClientBuilder AddPigeonFailover(this IClientBuilder client)
    {
        ArgumentNullException.ThrowIfNull(client);
        var services = client.Services;
        services.AddOptions<FailoverOptions>().BindConfiguration(FailoverOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<FailoverOptions>, FailoverOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<GrainCallFailover>();
        services.AddSingleton<IClusterConnectionStatusObserver>(provider => provider.GetRequiredService<GrainCallFailover>());
        client.Configure<ClientMessagingOptions>(messaging => messaging.WaitForCancellationAcknowledgement = true);
        return client;
    }
}
