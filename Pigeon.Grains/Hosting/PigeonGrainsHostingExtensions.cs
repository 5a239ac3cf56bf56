using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;
using Pigeon.Grains.Accounts;
using Pigeon.Grains.Mailboxes;
using Pigeon.Hosting;

namespace Pigeon.Grains.Hosting;

/// <summary>Wires Pigeon's grains into a silo.</summary>
public static class PigeonGrainsHostingExtensions
{
    /// <summary>
    /// Adds Pigeon's grains with everything they need, on one data source: their options (validated
    /// at start-up), the envelope store and one-time prekey pool, the group-commit writer, the expiry
    /// sweeper, the listener that ends a deactivating mailbox's waiting receives, and the
    /// <see cref="PigeonStorage.Accounts"/> grain storage (Orleans ADO.NET on the same data source,
    /// so grain state and envelopes share one pool). The silo owns
    /// <paramref name="dataSource"/> from here on and disposes it when it stops. Build it with
    /// <see cref="PigeonDatabaseSettings.CreateDataSource"/>.
    /// </summary>
    public static ISiloBuilder AddPigeonGrains(this ISiloBuilder silo, NpgsqlDataSource dataSource)
    {
        ArgumentNullException.ThrowIfNull(silo);
        silo.Services.AddPigeonGrains(dataSource);
        silo.AddPigeonGrainStorage(PigeonStorage.Accounts);
        return silo;
    }

    /// <summary>
    /// Adds what <see cref="AddPigeonGrains(ISiloBuilder, NpgsqlDataSource)"/> adds except the grain
    /// storage, for a silo that brings its own under <see cref="PigeonStorage.Accounts"/>. (ADO.NET
    /// storage reads its queries from the database as the silo starts, so a silo whose database is
    /// unreachable on purpose, as in a test of that case, cannot use it.)
    /// </summary>
    public static IServiceCollection AddPigeonGrains(this IServiceCollection services, NpgsqlDataSource dataSource)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        // Registered by a factory, so that the container disposes it with the silo.
        services.AddSingleton(_ => dataSource);
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
        services.AddHostedService<MailboxDeactivations>();
        return services;
    }

    /// <summary>
    /// Adds an Orleans ADO.NET grain storage named <paramref name="name"/> on the silo's
    /// <see cref="NpgsqlDataSource"/> (invariant <c>Npgsql</c>), the one
    /// <see cref="AddPigeonGrains(IServiceCollection, NpgsqlDataSource)"/> registers.
    /// </summary>
    public static ISiloBuilder AddPigeonGrainStorage(this ISiloBuilder silo, string name, Action<AdoNetGrainStorageOptions>? configure = null) =>
        silo.AddAdoNetGrainStorage(name, options => options.Configure<NpgsqlDataSource>((storage, dataSource) =>
        {
            storage.Invariant = "Npgsql";
            storage.DataSource = dataSource;
            configure?.Invoke(storage);
        }));
}
