using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Pigeon.Silo.Database;

namespace Pigeon.Tests.Testing;

/// <summary>
/// A fresh database <c>pigeon_test_&lt;random&gt;</c> on the <c>PIGEON_TEST_POSTGRES</c> server, by
/// default migrated with <see cref="SchemaMigrator"/>, and dropped on dispose. Each test (or
/// fixture) gets its own, so tests run in parallel without seeing each other's rows.
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private readonly string _serverConnectionString;

    private TestDatabase(string serverConnectionString, string name, string connectionString, NpgsqlDataSource dataSource)
    {
        _serverConnectionString = serverConnectionString;
        Name = name;
        ConnectionString = connectionString;
        DataSource = dataSource;
    }

    /// <summary>The database name.</summary>
    public string Name { get; }

    /// <summary>A superuser connection string to this database.</summary>
    public string ConnectionString { get; }

    /// <summary>A data source for this database, disposed with it.</summary>
    public NpgsqlDataSource DataSource { get; }

    /// <summary>
    /// Creates the database; skips or fails the test as <see cref="PostgresRequirement"/> says when
    /// there is no test server.
    /// </summary>
    /// <param name="migrate">Apply every migration before returning.</param>
    /// <param name="ct">Cancels creation and migration.</param>
    public static async Task<TestDatabase> CreateAsync(bool migrate = true, CancellationToken ct = default)
    {
        var server = PostgresRequirement.ConnectionString();
        var name = $"pigeon_test_{Guid.NewGuid():N}";
        await using (var connection = new NpgsqlConnection(server))
        {
            await connection.OpenAsync(ct);
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await create.ExecuteNonQueryAsync(ct);
        }

        var connectionString = new NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString;
        var database = new TestDatabase(server, name, connectionString, NpgsqlDataSource.Create(connectionString));
        if (migrate)
        {
            try
            {
                await new SchemaMigrator(database.DataSource, NullLogger<SchemaMigrator>.Instance).MigrateAsync(ct);
            }
            catch
            {
                await database.DisposeAsync();
                throw;
            }
        }

        return database;
    }

    /// <summary>Drops the database, disconnecting anyone still connected (Orleans' own pools included).</summary>
    public async ValueTask DisposeAsync()
    {
        await DataSource.DisposeAsync();
        await using var connection = new NpgsqlConnection(_serverConnectionString);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{Name}\" WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync();
    }
}
