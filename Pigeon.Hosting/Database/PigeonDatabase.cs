using Microsoft.Extensions.Configuration;
using Npgsql;

namespace Pigeon.Hosting.Database;

/// <summary>
/// The PostgreSQL database both hosts use (the silo for grains, grain state and membership, the
/// gateway for membership), and which of its failures are worth trying again.
/// </summary>
public static class PigeonDatabase
{
    /// <summary>The name of the connection string: <c>ConnectionStrings:Pigeon</c>, environment <c>ConnectionStrings__Pigeon</c>.</summary>
    public const string ConnectionStringName = "Pigeon";

    /// <summary>The connection string, or null when it is missing or blank.</summary>
    public static string? ConnectionString(this IConfiguration configuration)
    {
        var connectionString = configuration.GetConnectionString(ConnectionStringName);
        return string.IsNullOrWhiteSpace(connectionString) ? null : connectionString;
    }

    /// <summary>The problem to report when the connection string is missing, naming what it is for.</summary>
    public static string MissingConnectionString(string purpose) =>
        $"ConnectionStrings:{ConnectionStringName} is missing: set the PostgreSQL connection string {purpose} (environment variable ConnectionStrings__{ConnectionStringName}).";

    /// <summary>The first database failure in <paramref name="exception"/>, its inner exceptions and aggregates; null when there is none.</summary>
    public static NpgsqlException? FindFailure(Exception? exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is NpgsqlException npgsql)
            {
                return npgsql;
            }

            if (current is AggregateException aggregate)
            {
                return aggregate.InnerExceptions.Select(FindFailure).FirstOrDefault(failure => failure is not null);
            }
        }

        return null;
    }

    /// <summary>
    /// Whether <paramref name="exception"/> is, or wraps, a database failure that may pass if tried
    /// again: the server unreachable, restarting, shutting down, out of connections or resources, a
    /// broken connection. This is Npgsql's own judgement (<see cref="NpgsqlException.IsTransient"/>,
    /// which <see cref="PostgresException"/> answers from the SQLSTATE), not a list of our own.
    /// </summary>
    public static bool IsTransient(Exception? exception) => FindFailure(exception)?.IsTransient ?? false;
}
