using System.Diagnostics;
using Npgsql;

namespace Pigeon.Silo.Database;

/// <summary>
/// Applies Pigeon's numbered SQL migrations (<c>sql/NNNN_name.sql</c>, embedded in this assembly)
/// to a PostgreSQL database, each once, in order, each in its own transaction.
/// </summary>
/// <remarks>
/// Applied migrations are recorded in <c>pigeon_schema_migrations</c> with their SHA-256. A run
/// holds a PostgreSQL advisory lock for its whole duration, so migrators started at the same time
/// (a Helm Job and a silo, two test processes) take turns on the same database. A run refuses to
/// apply anything when an already-applied migration's file has changed since it was applied.
/// </remarks>
public sealed partial class SchemaMigrator
{
    /// <summary>The table in which applied migrations are recorded.</summary>
    public const string HistoryTable = "pigeon_schema_migrations";

    // Session-level advisory lock key shared by every migrator: the ASCII bytes of "PIGEONMG".
    private const long AdvisoryLockKey = 0x504947454F4E4D47;

    private readonly NpgsqlDataSource _dataSource;
    private readonly ILogger<SchemaMigrator> _logger;
    private readonly IReadOnlyList<SchemaMigration> _migrations;

    /// <summary>
    /// Creates a migrator for the migrations embedded in Pigeon.Silo.
    /// </summary>
    /// <param name="dataSource">The database to migrate; its user must be allowed to create tables and functions.</param>
    /// <param name="logger">Receives one line per applied or skipped migration.</param>
    public SchemaMigrator(NpgsqlDataSource dataSource, ILogger<SchemaMigrator> logger)
        : this(dataSource, logger, SchemaMigration.LoadEmbedded())
    {
    }

    /// <summary>
    /// Creates a migrator for an explicit list of migrations (tests use this to simulate edits).
    /// </summary>
    public SchemaMigrator(NpgsqlDataSource dataSource, ILogger<SchemaMigrator> logger, IEnumerable<SchemaMigration> migrations)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(migrations);
        _dataSource = dataSource;
        _logger = logger;
        _migrations = SchemaMigration.Order(migrations);
    }

    /// <summary>The migrations this migrator knows, ordered by version.</summary>
    public IReadOnlyList<SchemaMigration> Migrations => _migrations;

    /// <summary>
    /// Applies every migration not yet recorded in the database.
    /// </summary>
    /// <returns>The versions applied now and those found already applied.</returns>
    /// <exception cref="SchemaMigrationException">An applied migration's file has changed; nothing was applied.</exception>
    /// <exception cref="NpgsqlException">The database is unreachable or a migration failed (that migration is rolled back).</exception>
    public async Task<MigrationResult> MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await AcquireLockAsync(connection, cancellationToken);
        try
        {
            await EnsureHistoryTableAsync(connection, cancellationToken);
            var history = await ReadHistoryAsync(connection, cancellationToken);
            var alreadyApplied = VerifyHistory(history);

            var applied = new List<int>();
            foreach (var migration in _migrations)
            {
                if (history.ContainsKey(migration.Version))
                {
                    continue;
                }

                await ApplyAsync(connection, migration, cancellationToken);
                applied.Add(migration.Version);
            }

            LogCompleted(_logger, applied.Count, alreadyApplied.Count);
            return new MigrationResult(applied, alreadyApplied);
        }
        finally
        {
            await ReleaseLockAsync(connection);
        }
    }

    private async Task AcquireLockAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using (var tryLock = new NpgsqlCommand("SELECT pg_try_advisory_lock(@key)", connection))
        {
            tryLock.Parameters.AddWithValue("key", AdvisoryLockKey);
            if (await tryLock.ExecuteScalarAsync(cancellationToken) is true)
            {
                return;
            }
        }

        LogWaitingForLock(_logger);
        await using var wait = new NpgsqlCommand("SELECT pg_advisory_lock(@key)", connection) { CommandTimeout = 0 };
        wait.Parameters.AddWithValue("key", AdvisoryLockKey);
        await wait.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task ReleaseLockAsync(NpgsqlConnection connection)
    {
        if (connection.State != System.Data.ConnectionState.Open)
        {
            return;
        }

        try
        {
            await using var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock(@key)", connection);
            unlock.Parameters.AddWithValue("key", AdvisoryLockKey);
            await unlock.ExecuteNonQueryAsync(CancellationToken.None);
        }
        catch (NpgsqlException exception)
        {
            // Must not hide the exception that ended the run; the lock dies with the session anyway
            // (a broken connection is discarded, a pooled one is reset with DISCARD ALL).
            LogUnlockFailed(_logger, exception);
        }
    }

    private static async Task EnsureHistoryTableAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var create = new NpgsqlCommand(
            $"""
            CREATE TABLE IF NOT EXISTS {HistoryTable}
            (
                version    integer     NOT NULL PRIMARY KEY,
                name       text        NOT NULL,
                sha256     text        NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            connection);
        await create.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<Dictionary<int, (string Name, string Sha256)>> ReadHistoryAsync(
        NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var history = new Dictionary<int, (string, string)>();
        await using var select = new NpgsqlCommand($"SELECT version, name, sha256 FROM {HistoryTable}", connection);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            history[reader.GetInt32(0)] = (reader.GetString(1), reader.GetString(2));
        }

        return history;
    }

    private List<int> VerifyHistory(Dictionary<int, (string Name, string Sha256)> history)
    {
        var alreadyApplied = new List<int>();
        foreach (var migration in _migrations)
        {
            if (!history.TryGetValue(migration.Version, out var recorded))
            {
                continue;
            }

            if (!string.Equals(recorded.Sha256, migration.Sha256, StringComparison.OrdinalIgnoreCase))
            {
                throw new SchemaMigrationException(
                    $"Migration {migration.FileName} was changed after it was applied (applied as {recorded.Name} with SHA-256 " +
                    $"{recorded.Sha256}, the file now has {migration.Sha256}). Applied migrations must never be edited: " +
                    "restore the file and put the change in a new migration.")
                {
                    FileName = migration.FileName,
                };
            }

            alreadyApplied.Add(migration.Version);
            LogAlreadyApplied(_logger, migration.Version, migration.FileName);
        }

        // A database migrated by a newer build is not an error: migrations only add, so an older
        // build (say, during a rolling deployment) still runs on it.
        var known = _migrations.Select(m => m.Version).ToHashSet();
        foreach (var (version, recorded) in history.Where(h => !known.Contains(h.Key)).OrderBy(h => h.Key))
        {
            LogUnknownApplied(_logger, version, recorded.Name);
        }

        return alreadyApplied;
    }

    private async Task ApplyAsync(NpgsqlConnection connection, SchemaMigration migration, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        await using (var script = new NpgsqlCommand(migration.Sql, connection, transaction) { CommandTimeout = 0 })
        {
            try
            {
                await script.ExecuteNonQueryAsync(cancellationToken);
            }
            catch (PostgresException exception)
            {
                LogFailed(_logger, exception, migration.Version, migration.FileName);
                throw;
            }
        }

        await using (var record = new NpgsqlCommand(
            $"INSERT INTO {HistoryTable} (version, name, sha256) VALUES (@version, @name, @sha256)", connection, transaction))
        {
            record.Parameters.AddWithValue("version", migration.Version);
            record.Parameters.AddWithValue("name", migration.FileName);
            record.Parameters.AddWithValue("sha256", migration.Sha256);
            await record.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        LogApplied(_logger, migration.Version, migration.FileName, stopwatch.ElapsedMilliseconds);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Another migrator holds the schema lock; waiting for it to finish")]
    private static partial void LogWaitingForLock(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Applied migration {Version} ({FileName}) in {ElapsedMs} ms")]
    private static partial void LogApplied(ILogger logger, int version, string fileName, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Migration {Version} ({FileName}) is already applied")]
    private static partial void LogAlreadyApplied(ILogger logger, int version, string fileName);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The database has migration {Version} ({Name}), which this build does not know; a newer build applied it")]
    private static partial void LogUnknownApplied(ILogger logger, int version, string name);

    [LoggerMessage(Level = LogLevel.Error, Message = "Migration {Version} ({FileName}) failed and was rolled back")]
    private static partial void LogFailed(ILogger logger, Exception exception, int version, string fileName);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Releasing the schema lock failed")]
    private static partial void LogUnlockFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Schema is up to date: {AppliedCount} migration(s) applied, {SkippedCount} already present")]
    private static partial void LogCompleted(ILogger logger, int appliedCount, int skippedCount);
}
