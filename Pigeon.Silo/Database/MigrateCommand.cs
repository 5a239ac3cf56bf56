using Npgsql;

namespace Pigeon.Silo.Database;

/// <summary>
/// The silo's <c>migrate</c> command (<c>dotnet Pigeon.Silo.dll migrate</c>): applies the schema
/// migrations to the database named by <see cref="ConnectionStringKey"/> and exits.
/// </summary>
/// <remarks>
/// Exit codes: <see cref="ExitOk"/>, <see cref="ExitNoConnectionString"/>,
/// <see cref="ExitDatabaseUnavailable"/>, <see cref="ExitMigrationRejected"/>,
/// <see cref="ExitMigrationFailed"/>, <see cref="ExitCanceled"/>. Every failure is logged with a
/// message an operator can act on; the connection string itself is never logged.
/// </remarks>
public static partial class MigrateCommand
{
    /// <summary>The configuration key of the connection string (environment: <c>ConnectionStrings__Pigeon</c>).</summary>
    public const string ConnectionStringKey = "ConnectionStrings:Pigeon";

    /// <summary>Every migration is applied.</summary>
    public const int ExitOk = 0;

    /// <summary>No connection string is configured, or it cannot be parsed.</summary>
    public const int ExitNoConnectionString = 2;

    /// <summary>The database cannot be reached or refused the login.</summary>
    public const int ExitDatabaseUnavailable = 3;

    /// <summary>An applied migration has changed since; nothing was applied.</summary>
    public const int ExitMigrationRejected = 4;

    /// <summary>A migration's SQL failed; it was rolled back, earlier ones stay applied.</summary>
    public const int ExitMigrationFailed = 5;

    /// <summary>The run was canceled (e.g. Ctrl+C or SIGTERM).</summary>
    public const int ExitCanceled = 130;

    /// <summary>
    /// Reads the connection string from <paramref name="configuration"/> (<see cref="ConnectionStringKey"/>)
    /// and runs <see cref="RunAsync(string, ILoggerFactory, CancellationToken)"/>.
    /// </summary>
    public static Task<int> RunAsync(IConfiguration configuration, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return RunAsync(configuration[ConnectionStringKey] ?? string.Empty, loggerFactory, cancellationToken);
    }

    /// <summary>
    /// Applies every pending migration to the database at <paramref name="connectionString"/>.
    /// </summary>
    /// <returns>The process exit code: <see cref="ExitOk"/> on success, another <c>Exit*</c> value otherwise.</returns>
    public static async Task<int> RunAsync(string connectionString, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        var logger = loggerFactory.CreateLogger(typeof(MigrateCommand).FullName!);

        if (string.IsNullOrWhiteSpace(connectionString))
        {
            LogNoConnectionString(logger, ConnectionStringKey);
            return ExitNoConnectionString;
        }

        NpgsqlDataSource dataSource;
        try
        {
            dataSource = new NpgsqlDataSourceBuilder(connectionString).UseLoggerFactory(loggerFactory).Build();
        }
        catch (ArgumentException exception)
        {
            // The exception text could quote the connection string, password included.
            LogBadConnectionString(logger, ConnectionStringKey, exception.GetType().Name);
            return ExitNoConnectionString;
        }

        await using (dataSource)
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString);
            var target = $"{builder.Host}:{builder.Port}/{builder.Database ?? builder.Username}";
            try
            {
                var result = await new SchemaMigrator(dataSource, loggerFactory.CreateLogger<SchemaMigrator>()).MigrateAsync(cancellationToken);
                LogSucceeded(logger, target, result.Applied.Count, result.AlreadyApplied.Count);
                return ExitOk;
            }
            catch (SchemaMigrationException exception)
            {
                LogRejected(logger, target, exception.Message);
                return ExitMigrationRejected;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                LogCanceled(logger, target);
                return ExitCanceled;
            }
            catch (PostgresException exception) when (IsLoginFailure(exception))
            {
                LogUnavailable(logger, exception, target);
                return ExitDatabaseUnavailable;
            }
            catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.InsufficientPrivilege)
            {
                LogNotPrivileged(logger, exception, target, exception.MessageText);
                return ExitMigrationFailed;
            }
            catch (PostgresException exception)
            {
                LogMigrationFailed(logger, exception, target, exception.SqlState, exception.MessageText);
                return ExitMigrationFailed;
            }
            catch (NpgsqlException exception)
            {
                LogUnavailable(logger, exception, target);
                return ExitDatabaseUnavailable;
            }
        }
    }

    // Class 28 is "invalid authorization", 3D000 "database does not exist", 57P03 "cannot connect now".
    private static bool IsLoginFailure(PostgresException exception) =>
        exception.SqlState.StartsWith("28", StringComparison.Ordinal)
        || exception.SqlState is PostgresErrorCodes.InvalidCatalogName or PostgresErrorCodes.CannotConnectNow;

    [LoggerMessage(Level = LogLevel.Critical, Message = "No database connection string: set configuration key {Key} (environment variable ConnectionStrings__Pigeon)")]
    private static partial void LogNoConnectionString(ILogger logger, string key);

    [LoggerMessage(Level = LogLevel.Critical, Message = "The database connection string in {Key} cannot be parsed ({ErrorType})")]
    private static partial void LogBadConnectionString(ILogger logger, string key, string errorType);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Cannot reach or log in to PostgreSQL at {Target}; check the host, port, credentials and that the database exists")]
    private static partial void LogUnavailable(ILogger logger, Exception exception, string target);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Refusing to migrate {Target}: {Reason}")]
    private static partial void LogRejected(ILogger logger, string target, string reason);

    [LoggerMessage(Level = LogLevel.Critical, Message = "A migration failed on {Target} and was rolled back: {SqlState} {Error}")]
    private static partial void LogMigrationFailed(ILogger logger, Exception exception, string target, string sqlState, string error);

    // PostgreSQL 15 took CREATE on schema public away from ordinary roles; the database's owner keeps it.
    [LoggerMessage(Level = LogLevel.Critical, Message = "A migration failed on {Target} and was rolled back: the role lacks a privilege ({Error}). "
        + "Run the migrations as the owner of the database (CREATE DATABASE pigeon OWNER pigeon, or ALTER DATABASE pigeon OWNER TO pigeon), "
        + "which may create the schema pigeon and, on PostgreSQL 15 and later too, tables in schema public")]
    private static partial void LogNotPrivileged(ILogger logger, Exception exception, string target, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Migration of {Target} canceled")]
    private static partial void LogCanceled(ILogger logger, string target);

    [LoggerMessage(Level = LogLevel.Information, Message = "Migrated {Target}: {AppliedCount} applied, {SkippedCount} already present")]
    private static partial void LogSucceeded(ILogger logger, string target, int appliedCount, int skippedCount);
}
