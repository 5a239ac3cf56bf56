using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Orleans.TestingHost;
using Pigeon.Grains.Hosting;
using Pigeon.Grains.Mailboxes;
using Pigeon.Hosting;
using Pigeon.Tests.Gateway;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Grains;

/// <summary>
/// One in-memory Orleans TestCluster for the grain tests, with Pigeon's grains on a real, freshly
/// migrated PostgreSQL database and a fake clock for everything the grains time.
/// </summary>
public sealed class PigeonClusterFixture : IAsyncLifetime
{
    /// <summary>Mailbox limits small enough for tests to reach.</summary>
    public const int MaxEnvelopes = 50;

    public const long MaxBytes = 1024 * 1024;

    /// <summary>Fewer than <see cref="MaxEnvelopes"/>, so tests reach both the memory and the table paths of receives.</summary>
    public const int RecentEnvelopesHeld = 16;

    /// <summary>The test silo's bound on one sender's unacknowledged envelopes on the identified route.</summary>
    public const int MaxPendingPerIdentifiedSender = 5;

    public static readonly TimeSpan EnvelopeTtl = TimeSpan.FromDays(30);

    /// <summary>When a removed device's mailbox is purged again (a real timer: short, so a test can wait for it).</summary>
    public static readonly TimeSpan RemovedDeviceSweepDelay = TimeSpan.FromSeconds(1);

    // The silo configurator is created by type, so it reads the shared parts from here.
    private static string? s_connectionString;
    private static FakeTimeProvider? s_clock;

    private TestDatabase? _database;

    public TestCluster Cluster { get; private set; } = null!;

    public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 11, 1, 12, 0, 0, TimeSpan.Zero));

    public NpgsqlDataSource DataSource => Database.DataSource;

    public TestDatabase Database => _database ?? throw new InvalidOperationException("No database: PIGEON_TEST_POSTGRES is not set.");

    public IGrainFactory Grains => Cluster.GrainFactory;

    private Pigeon.Tests.Gateway.GatewayFactory? _gateway;

    private IApiHost? _coHosted;

    /// <summary>The gateway with default settings, in memory, as a client of this cluster.</summary>
    public Pigeon.Tests.Gateway.GatewayFactory Gateway
    {
        get
        {
            RequirePostgres();
            return _gateway ??= new Pigeon.Tests.Gateway.GatewayFactory(Cluster, WithDatabase(null), Clock);
        }
    }

    /// <summary>
    /// The API with default settings, shared by the tests: <see cref="Gateway"/>, or a silo of its
    /// own on this fixture's database serving the API co-hosted.
    /// </summary>
    public IApiHost Api(ApiMode mode)
    {
        RequirePostgres();
        return mode == ApiMode.Gateway ? Gateway : _coHosted ??= new CoHostedSiloFactory(Database.ConnectionString);
    }

    /// <summary>A new API host of its own with <paramref name="settings"/> over the defaults; the test disposes it.</summary>
    public IApiHost StartApi(ApiMode mode, IReadOnlyDictionary<string, string?>? settings = null)
    {
        RequirePostgres();
        return mode == ApiMode.Gateway
            ? new Pigeon.Tests.Gateway.GatewayFactory(Cluster, WithDatabase(settings), Clock)
            : new CoHostedSiloFactory(Database.ConnectionString, settings);
    }

    // A gateway reaches the silos through static endpoints here, but its attachment store needs the database.
    private Dictionary<string, string?> WithDatabase(IReadOnlyDictionary<string, string?>? settings)
    {
        var all = new Dictionary<string, string?> { [$"ConnectionStrings:{Pigeon.Hosting.Database.PigeonDatabase.ConnectionStringName}"] = Database.ConnectionString };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        return all;
    }

    /// <summary>Skips (locally) or fails (in CI) a test when there is no PostgreSQL to run on.</summary>
    public void RequirePostgres()
    {
        PostgresRequirement.ConnectionString();
        _ = Database;
    }

    public T SiloService<T>() where T : notnull =>
        ((InProcessSiloHandle)Cluster.Primary!).SiloHost.Services.GetRequiredService<T>();

    public async ValueTask InitializeAsync()
    {
        if (!PostgresRequirement.IsConfigured)
        {
            return;
        }

        _database = await TestDatabase.CreateAsync();
        s_connectionString = _database.ConnectionString;
        s_clock = Clock;
        var builder = new TestClusterBuilder(1);
        // Real sockets, so the in-memory gateway connects as an ordinary Orleans client would.
        builder.Options.ConnectionTransport = ConnectionTransportType.TcpSocket;
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }

        if (_coHosted is not null)
        {
            await _coHosted.DisposeAsync();
        }

        if (Cluster is not null)
        {
            await Cluster.StopAllSilosAsync();
            await Cluster.DisposeAsync();
        }

        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            siloBuilder.Services.AddKeyedSingleton<TimeProvider>(PigeonTime.ServiceKey, s_clock!);
            siloBuilder.AddPigeonGrains(PigeonDatabaseSettings.CreateDataSource(s_connectionString!, "pigeon-tests"));
            siloBuilder.Services.Configure<Pigeon.Grains.Accounts.AccountOptions>(options => options.RemovedDeviceSweepDelay = RemovedDeviceSweepDelay);
            siloBuilder.Services.Configure<MailboxOptions>(options =>
            {
                options.MaxEnvelopes = MaxEnvelopes;
                options.MaxBytes = MaxBytes;
                options.EnvelopeTtl = EnvelopeTtl;
                options.RecentEnvelopesHeld = RecentEnvelopesHeld;
                options.MaxPendingPerIdentifiedSender = MaxPendingPerIdentifiedSender;
            });
        }
    }
}

[CollectionDefinition(Name)]
public sealed class PigeonClusterCollection : ICollectionFixture<PigeonClusterFixture>
{
    public const string Name = "Pigeon cluster";
}
