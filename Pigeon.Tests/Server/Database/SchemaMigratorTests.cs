using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Pigeon.Silo.Database;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Database;

public sealed class SchemaMigratorTests
{
    private static readonly string[] ClusteringQueryKeys =
    [
        "InsertMembershipVersionKey", "InsertMembershipKey", "UpdateMembershipKey", "UpdateIAmAlivetimeKey",
        "MembershipReadRowKey", "MembershipReadAllKey", "GatewaysQueryKey", "DeleteMembershipTableEntriesKey",
        "CleanupDefunctSiloEntriesKey", "CleanupDefunctSiloEntryKey",
    ];

    private static readonly string[] PersistenceQueryKeys =
        ["WriteToStorageKey", "ReadFromStorageKey", "ClearStorageKey", "DeleteStorageKey"];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static SchemaMigrator Migrator(NpgsqlDataSource dataSource, IEnumerable<SchemaMigration>? migrations = null) =>
        migrations is null
            ? new SchemaMigrator(dataSource, NullLogger<SchemaMigrator>.Instance)
            : new SchemaMigrator(dataSource, NullLogger<SchemaMigrator>.Instance, migrations);

    [Fact]
    public void EmbeddedMigrations_AreNumberedAndIncludeTheOrleansContract()
    {
        var migrations = SchemaMigration.LoadEmbedded();

        Assert.Contains(migrations, m => m is { Version: 1, FileName: "0001_orleans_clustering.sql" });
        Assert.Contains(migrations, m => m is { Version: 2, FileName: "0002_orleans_persistence.sql" });
        Assert.Equal(migrations.Select(m => m.Version).Order(), migrations.Select(m => m.Version));
        Assert.All(migrations, m => Assert.Matches("^[0-9a-f]{64}$", m.Sha256));
    }

    [Fact]
    public void MigrationChecksum_IgnoresLineEndings()
    {
        var lf = SchemaMigration.Create("0001_x.sql", "SELECT 1;\nSELECT 2;\n");
        var crlf = SchemaMigration.Create("0001_x.sql", "SELECT 1;\r\nSELECT 2;\r\n");

        Assert.Equal(lf.Sha256, crlf.Sha256);
    }

    [Fact]
    public async Task Migrations_OnAnEmptyDatabase_ApplyEveryFileAndCreateTheOrleansObjects()
    {
        await using var database = await TestDatabase.CreateAsync(migrate: false, Ct);
        var migrator = Migrator(database.DataSource);

        var result = await migrator.MigrateAsync(Ct);

        var expected = migrator.Migrations.Select(m => m.Version).ToArray();
        Assert.Equal(expected, result.Applied);
        Assert.Empty(result.AlreadyApplied);
        Assert.Equal(
            migrator.Migrations.Select(m => (m.Version, m.FileName, m.Sha256)),
            await QueryAsync(database, $"SELECT version, name, sha256 FROM {SchemaMigrator.HistoryTable} ORDER BY version",
                r => (r.GetInt32(0), r.GetString(1), r.GetString(2))));

        var keys = await QueryAsync(database, "SELECT QueryKey FROM OrleansQuery", r => r.GetString(0));
        Assert.Superset(ClusteringQueryKeys.Concat(PersistenceQueryKeys).ToHashSet(), keys.ToHashSet());

        var tables = await QueryAsync(database,
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'", r => r.GetString(0));
        Assert.Superset(
            new HashSet<string> { "orleansquery", "orleansmembershipversiontable", "orleansmembershiptable", "orleansstorage", SchemaMigrator.HistoryTable },
            tables.ToHashSet());

        // Npgsql sends UTC DateTime as timestamptz; a plain timestamp column anywhere would break that.
        var naiveTimestamps = await QueryAsync(database,
            """
            SELECT table_name || '.' || column_name FROM information_schema.columns
            WHERE table_schema = 'public' AND data_type = 'timestamp without time zone'
            """,
            r => r.GetString(0));
        Assert.Empty(naiveTimestamps);
    }

    [Fact]
    public async Task Migrations_AppliedTwice_ChangeNothing()
    {
        await using var database = await TestDatabase.CreateAsync(migrate: false, Ct);
        var first = await Migrator(database.DataSource).MigrateAsync(Ct);
        var historyBefore = await HistorySnapshotAsync(database);
        var queriesBefore = await QueryRowsSnapshotAsync(database);

        var second = await Migrator(database.DataSource).MigrateAsync(Ct);

        Assert.Empty(second.Applied);
        Assert.Equal(first.Applied, second.AlreadyApplied);
        Assert.Equal(historyBefore, await HistorySnapshotAsync(database));
        Assert.Equal(queriesBefore, await QueryRowsSnapshotAsync(database));
    }

    [Fact]
    public async Task MigrationScripts_RunAgainByHand_LeaveTheQueryTableUntouched()
    {
        await using var database = await TestDatabase.CreateAsync(migrate: true, Ct);
        var before = await QueryRowsSnapshotAsync(database);

        foreach (var migration in SchemaMigration.LoadEmbedded().Where(m => m.Version <= 2))
        {
            await using var command = database.DataSource.CreateCommand(migration.Sql);
            await command.ExecuteNonQueryAsync(Ct);
        }

        // xmin changes whenever a row is rewritten, even with identical values.
        Assert.Equal(before, await QueryRowsSnapshotAsync(database));
    }

    [Fact]
    public async Task Migrations_WithAnAppliedFileChanged_AreRefusedNamingTheFile()
    {
        await using var database = await TestDatabase.CreateAsync(migrate: true, Ct);
        var edited = SchemaMigration.LoadEmbedded()
            .Select(m => m.Version == 1 ? SchemaMigration.Create(m.FileName, m.Sql + "\n-- an edit after release\n") : m)
            .Append(SchemaMigration.Create("9001_never_applied.sql", "CREATE TABLE never_applied (id int);"))
            .ToList();

        var error = await Assert.ThrowsAsync<SchemaMigrationException>(() => Migrator(database.DataSource, edited).MigrateAsync(Ct));

        Assert.Equal("0001_orleans_clustering.sql", error.FileName);
        Assert.Contains("0001_orleans_clustering.sql", error.Message, StringComparison.Ordinal);
        Assert.Empty(await QueryAsync(database, "SELECT 1 FROM pg_tables WHERE tablename = 'never_applied'", r => r.GetInt32(0)));
    }

    [Fact]
    public async Task Migrations_RunConcurrently_ApplyEachFileExactlyOnce()
    {
        await using var database = await TestDatabase.CreateAsync(migrate: false, Ct);
        var dataSources = Enumerable.Range(0, 4).Select(_ => NpgsqlDataSource.Create(database.ConnectionString)).ToList();
        try
        {
            var results = await Task.WhenAll(dataSources.Select(ds => Task.Run(() => Migrator(ds).MigrateAsync(Ct), Ct)));

            var versions = SchemaMigration.LoadEmbedded().Select(m => m.Version).ToArray();
            Assert.Equal(versions, results.SelectMany(r => r.Applied).Order());
            Assert.All(results, r => Assert.Equal(versions, r.Applied.Concat(r.AlreadyApplied).Order()));
            Assert.Equal(versions, await QueryAsync(database,
                $"SELECT version FROM {SchemaMigrator.HistoryTable} ORDER BY version", r => r.GetInt32(0)));
        }
        finally
        {
            foreach (var dataSource in dataSources)
            {
                await dataSource.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Migration_ThatFails_IsRolledBackAndNotRecorded()
    {
        await using var database = await TestDatabase.CreateAsync(migrate: true, Ct);
        var migrations = SchemaMigration.LoadEmbedded()
            .Append(SchemaMigration.Create("9002_half_done.sql", "CREATE TABLE half_done (id int);\nSELECT * FROM no_such_table;"))
            .ToList();

        await Assert.ThrowsAsync<PostgresException>(() => Migrator(database.DataSource, migrations).MigrateAsync(Ct));

        Assert.Empty(await QueryAsync(database, "SELECT 1 FROM pg_tables WHERE tablename = 'half_done'", r => r.GetInt32(0)));
        Assert.Empty(await QueryAsync(database, $"SELECT 1 FROM {SchemaMigrator.HistoryTable} WHERE version = 9002", r => r.GetInt32(0)));
    }

    [Fact]
    public async Task MigrateCommand_OnAFreshDatabase_ExitsZero()
    {
        await using var database = await TestDatabase.CreateAsync(migrate: false, Ct);

        var exitCode = await MigrateCommand.RunAsync(database.ConnectionString, NullLoggerFactory.Instance, Ct);

        Assert.Equal(MigrateCommand.ExitOk, exitCode);
        Assert.NotEmpty(await QueryAsync(database, $"SELECT version FROM {SchemaMigrator.HistoryTable}", r => r.GetInt32(0)));
    }

    [Fact]
    public async Task MigrateCommand_WithoutAConnectionString_ExitsNonZero()
    {
        Assert.Equal(MigrateCommand.ExitNoConnectionString, await MigrateCommand.RunAsync("", NullLoggerFactory.Instance, Ct));
        Assert.Equal(MigrateCommand.ExitNoConnectionString, await MigrateCommand.RunAsync("Host=x;NoSuchKeyword=1", NullLoggerFactory.Instance, Ct));
    }

    [Fact]
    public async Task MigrateCommand_WithAnUnreachableDatabase_ExitsNonZero()
    {
        // Port 1 on loopback refuses connections at once.
        var exitCode = await MigrateCommand.RunAsync("Host=127.0.0.1;Port=1;Username=nobody;Timeout=3", NullLoggerFactory.Instance, Ct);

        Assert.Equal(MigrateCommand.ExitDatabaseUnavailable, exitCode);
    }

    [Fact]
    public async Task Migrations_AsTheDatabaseOwner_NeedNoSuperuser_AndAnotherRoleIsToldWhatItLacks()
    {
        var suffix = Guid.NewGuid().ToString("N")[..12];
        var (owner, stranger) = ($"pigeon_owner_{suffix}", $"pigeon_stranger_{suffix}");
        var database = await TestDatabase.CreateAsync(migrate: false, Ct);
        try
        {
            await ExecuteAsync(database, $"CREATE ROLE {owner} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE");
            await ExecuteAsync(database, $"CREATE ROLE {stranger} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE");
            await ExecuteAsync(database, $"ALTER DATABASE \"{database.Name}\" OWNER TO {owner}");

            var (strangerExit, strangerOutput) = await AppProcess.RunAsync(BuiltApps.AssemblyOf("Pigeon.Silo"), new Dictionary<string, string>
            {
                ["ConnectionStrings__Pigeon"] = As(database, stranger),
            }, TimeSpan.FromSeconds(60), "migrate");
            Assert.Equal(MigrateCommand.ExitMigrationFailed, strangerExit);
            Assert.Contains("lacks a privilege", strangerOutput, StringComparison.Ordinal);
            Assert.Contains("OWNER TO", strangerOutput, StringComparison.Ordinal);
            Assert.Empty(await QueryAsync(database,
                "SELECT table_name FROM information_schema.tables WHERE table_schema IN ('public', 'pigeon')", r => r.GetString(0)));

            await using var asOwner = NpgsqlDataSource.Create(As(database, owner));
            var migrator = Migrator(asOwner);
            var result = await migrator.MigrateAsync(Ct);
            Assert.Equal(migrator.Migrations.Select(m => m.Version), result.Applied);
        }
        finally
        {
            await database.DisposeAsync();
            await using var connection = new NpgsqlConnection(PostgresRequirement.ConnectionString());
            await connection.OpenAsync(Ct);
            await using var drop = new NpgsqlCommand($"DROP ROLE IF EXISTS {owner}; DROP ROLE IF EXISTS {stranger}", connection);
            await drop.ExecuteNonQueryAsync(Ct);
        }
    }

    private static string As(TestDatabase database, string role) =>
        new NpgsqlConnectionStringBuilder(database.ConnectionString) { Username = role, Password = null }.ConnectionString;

    private static async Task ExecuteAsync(TestDatabase database, string sql)
    {
        await using var command = database.DataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync(Ct);
    }

    private static async Task<List<(int, string, string, DateTime)>> HistorySnapshotAsync(TestDatabase database) =>
        await QueryAsync(database,
            $"SELECT version, name, sha256, applied_at FROM {SchemaMigrator.HistoryTable} ORDER BY version",
            r => (r.GetInt32(0), r.GetString(1), r.GetString(2), r.GetDateTime(3)));

    private static async Task<List<(string, string, string)>> QueryRowsSnapshotAsync(TestDatabase database) =>
        await QueryAsync(database,
            "SELECT QueryKey, QueryText, xmin::text FROM OrleansQuery ORDER BY QueryKey",
            r => (r.GetString(0), r.GetString(1), r.GetString(2)));

    private static async Task<List<T>> QueryAsync<T>(TestDatabase database, string sql, Func<NpgsqlDataReader, T> read)
    {
        await using var command = database.DataSource.CreateCommand(sql);
        await using var reader = await command.ExecuteReaderAsync(Ct);
        var rows = new List<T>();
        while (await reader.ReadAsync(Ct))
        {
            rows.Add(read(reader));
        }

        return rows;
    }
}
