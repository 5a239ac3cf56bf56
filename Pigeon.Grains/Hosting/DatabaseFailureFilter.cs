using Microsoft.Extensions.Logging;
using Npgsql;
using Pigeon.Grains.Abstractions;

namespace Pigeon.Grains.Hosting;

/// <summary>
/// Turns database failures inside grain calls into exceptions every caller can deserialize: Npgsql's
/// exception types have no Orleans codec, so a gateway would otherwise see a codec error instead of
/// "try again". A transient failure (the database is down, restarting or out of connections) becomes
/// <see cref="ServiceUnavailableException"/>; anything else becomes a plain error without the
/// database's message, which may quote data.
/// </summary>
internal sealed partial class DatabaseFailureFilter(ILogger<DatabaseFailureFilter> logger) : IIncomingGrainCallFilter
{
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        try
        {
            await context.Invoke();
        }
        catch (Exception exception) when (FindDatabaseFailure(exception) is { } failure)
        {
            var method = context.InterfaceMethod?.Name ?? "?";
            if (IsTransient(failure))
            {
                LogUnavailable(method, failure.GetType().Name, (failure as PostgresException)?.SqlState);
                throw new ServiceUnavailableException("The database is unavailable; try again.");
            }

            LogFailed(failure, method);
            throw new InvalidOperationException("A database operation failed.");
        }
    }

    private static NpgsqlException? FindDatabaseFailure(Exception? exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is NpgsqlException npgsql)
            {
                return npgsql;
            }

            if (current is AggregateException aggregate && aggregate.InnerExceptions.Select(FindDatabaseFailure).FirstOrDefault(f => f is not null) is { } inner)
            {
                return inner;
            }
        }

        return null;
    }

    private static bool IsTransient(NpgsqlException failure) => failure switch
    {
        // Connection exceptions (08), operator intervention such as shutdown (57P), insufficient resources (53).
        PostgresException postgres => postgres.IsTransient
            || postgres.SqlState.StartsWith("08", StringComparison.Ordinal)
            || postgres.SqlState.StartsWith("57P", StringComparison.Ordinal)
            || postgres.SqlState.StartsWith("53", StringComparison.Ordinal),
        _ => true,
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Database unavailable during {Method}: {ExceptionType} {SqlState}")]
    private partial void LogUnavailable(string method, string exceptionType, string? sqlState);

    [LoggerMessage(Level = LogLevel.Error, Message = "Database operation failed during {Method}")]
    private partial void LogFailed(Exception exception, string method);
}
