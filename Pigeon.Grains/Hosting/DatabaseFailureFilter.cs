using Microsoft.Extensions.Logging;
using Npgsql;
using Pigeon.Grains.Abstractions;
using Pigeon.Hosting.Database;

namespace Pigeon.Grains.Hosting;

/// <summary>
/// Turns database failures inside grain calls into exceptions every caller can deserialize: Npgsql's
/// exception types have no Orleans codec, so a gateway would otherwise see a codec error instead of
/// "try again". A transient failure (the database is down, restarting or out of connections, as
/// <see cref="PigeonDatabase.IsTransient"/> judges) becomes <see cref="ServiceUnavailableException"/>;
/// anything else becomes a plain error without the database's message, which may quote data.
/// </summary>
internal sealed partial class DatabaseFailureFilter(ILogger<DatabaseFailureFilter> logger) : IIncomingGrainCallFilter
{
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        try
        {
            await context.Invoke();
        }
        catch (Exception exception) when (PigeonDatabase.FindFailure(exception) is { } failure)
        {
            var method = context.InterfaceMethod?.Name ?? "?";
            if (PigeonDatabase.IsTransient(failure))
            {
                LogUnavailable(method, failure.GetType().Name, (failure as PostgresException)?.SqlState);
                throw new ServiceUnavailableException("The database is unavailable; try again.");
            }

            LogFailed(failure, method);
            throw new InvalidOperationException("A database operation failed.");
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Database unavailable during {Method}: {ExceptionType} {SqlState}")]
    private partial void LogUnavailable(string method, string exceptionType, string? sqlState);

    [LoggerMessage(Level = LogLevel.Error, Message = "Database operation failed during {Method}")]
    private partial void LogFailed(Exception exception, string method);
}
