using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.TestingHost;
using Pigeon.Grains.Hosting;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Database;

/// <summary>
/// Two silos and a client on Orleans' ADO.NET clustering and grain storage, over a freshly
/// migrated database: proof that our SQL meets the contract Orleans actually uses.
/// </summary>
public sealed class OrleansOnPostgresFixture : IAsyncLifetime
{
    public const string StorageName = "pigeon";
    public const string DeletingStorageName = "pigeon-delete";
    private const string ConnectionStringKey = "PigeonTest:ConnectionString";

    private TestDatabase? _database;
    private TestCluster? _cluster;

    /// <summary>The migrated database; skips or fails the test when there is no test server.</summary>
    public TestDatabase Database => Started()._database!;

    /// <summary>The running cluster; skips or fails the test when there is no test server.</summary>
    public TestCluster Cluster => Started()._cluster!;

    public async ValueTask InitializeAsync()
    {
        // Skipping is only possible inside a test, so without a server the fixture stays empty and
        // each test asks PostgresRequirement itself.
        if (!PostgresRequirement.IsConfigured)
        {
            return;
        }

        _database = await TestDatabase.CreateAsync(ct: TestContext.Current.CancellationToken);
        var builder = new TestClusterBuilder(initialSilosCount: 2);
        builder.Options.UseTestClusterMembership = false;
        builder.Properties[ConnectionStringKey] = _database.ConnectionString;
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        builder.AddClientBuilderConfigurator<ClientConfigurator>();
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.StopAllSilosAsync();
            await _cluster.DisposeAsync();
        }

        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }

    private OrleansOnPostgresFixture Started()
    {
        PostgresRequirement.ConnectionString();
        return _cluster is null ? throw new InvalidOperationException("The cluster did not start.") : this;
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            var connectionString = siloBuilder.Configuration[ConnectionStringKey]!;
            siloBuilder.UseAdoNetClustering(options =>
            {
                options.Invariant = "Npgsql";
                options.ConnectionString = connectionString;
            });
            // The probe grains' storage, wired as Pigeon's grains wire theirs.
            siloBuilder.Services.AddSingleton(_ => NpgsqlDataSource.Create(connectionString));
            siloBuilder.AddPigeonGrainStorage(StorageName);
            siloBuilder.AddPigeonGrainStorage(DeletingStorageName, options => options.DeleteStateOnClear = true);
        }
    }

    private sealed class ClientConfigurator : IClientBuilderConfigurator
    {
        public void Configure(IConfiguration configuration, IClientBuilder clientBuilder) =>
            clientBuilder.UseAdoNetClustering(options =>
            {
                options.Invariant = "Npgsql";
                options.ConnectionString = configuration[ConnectionStringKey];
            });
    }
}

[CollectionDefinition(Name)]
public sealed class OrleansOnPostgresCollection : ICollectionFixture<OrleansOnPostgresFixture>
{
    public const string Name = "Orleans on PostgreSQL";
}
