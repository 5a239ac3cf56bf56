using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Pigeon.Grains.Accounts;
using Pigeon.Grains.Mailboxes;

namespace Pigeon.Grains.Hosting;

/// <summary>Registers what Pigeon's grains need in a silo.</summary>
public static class PigeonGrainsServiceCollectionExtensions
{
    /// <summary>
    /// Adds the grains' options (validated at start-up), the envelope and prekey stores, the
    /// group-commit writer and the expiry sweeper. The silo must also register an
    /// <see cref="Npgsql.NpgsqlDataSource"/> for Pigeon's database and the
    /// <see cref="PigeonStorage.Accounts"/> grain storage.
    /// </summary>
    public static IServiceCollection AddPigeonGrains(this IServiceCollection services)
    {
        services.AddOptions<MailboxOptions>().BindConfiguration(MailboxOptions.Section).ValidateOnStart();
        services.AddOptions<EnvelopeStoreOptions>().BindConfiguration(EnvelopeStoreOptions.Section).ValidateOnStart();
        services.AddOptions<AccountOptions>().BindConfiguration(AccountOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MailboxOptions>, MailboxOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EnvelopeStoreOptions>, EnvelopeStoreOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AccountOptions>, AccountOptionsValidator>());

        services.TryAddKeyedSingleton(PigeonTime.ServiceKey, TimeProvider.System);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IIncomingGrainCallFilter, DatabaseFailureFilter>());
        services.TryAddSingleton<EnvelopeStore>();
        services.TryAddSingleton<OneTimePrekeyPool>();
        services.AddMetrics();
        services.TryAddSingleton<MailboxMetrics>();
        services.TryAddSingleton<EnvelopeWriter>();
        services.AddHostedService(provider => provider.GetRequiredService<EnvelopeWriter>());
        services.TryAddSingleton<ExpiredEnvelopeSweeper>();
        services.AddHostedService(provider => provider.GetRequiredService<ExpiredEnvelopeSweeper>());
        return services;
    }
}
