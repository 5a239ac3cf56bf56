using Npgsql;

namespace Pigeon.Grains.Hosting;

/// <summary>Session settings for the connections Pigeon's grains use.</summary>
public static class PigeonDatabaseSettings
{
    /// <summary>How many distinct statements each connection keeps prepared.</summary>
    public const int PreparedStatementsPerConnection = 32;

    /// <summary>
    /// Applies Pigeon's settings to a connection string:
    /// <list type="bullet">
    /// <item>Sequential scans are off for these sessions. Every statement the grains run looks rows up
    /// by key, but the envelope tables are queues: autovacuum often analyses them while they are nearly
    /// empty, the planner then believes they are tiny and scans them whole, and under load those scans
    /// read every dead row the churn left behind. With this the planner keeps to the indexes; a
    /// statement without a usable index still runs, as a scan.</item>
    /// <item>Statements are prepared automatically once used a few times (Npgsql's auto-prepare), so
    /// the group commit's statements are parsed and planned once per connection, not once per commit.</item>
    /// <item>A connection going back to the pool is not reset: the grains change no session state, and
    /// the reset is five statements per use, as many as the work itself for a small commit.</item>
    /// </list>
    /// </summary>
    public static NpgsqlConnectionStringBuilder ApplyPigeonSettings(this NpgsqlConnectionStringBuilder connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        const string setting = "-c enable_seqscan=off";
        connection.Options = string.IsNullOrWhiteSpace(connection.Options) ? setting : $"{connection.Options} {setting}";
        connection.MaxAutoPrepare = PreparedStatementsPerConnection;
        connection.NoResetOnClose = true;
        return connection;
    }

    /// <summary>
    /// A data source on <paramref name="connectionString"/> with <see cref="ApplyPigeonSettings"/>,
    /// named <paramref name="applicationName"/> (in <c>pg_stat_activity</c> too) and, when given, a
    /// pool of at most <paramref name="maxPoolSize"/> connections.
    /// </summary>
    public static NpgsqlDataSource CreateDataSource(string connectionString, string applicationName, int? maxPoolSize = null)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString) { Name = applicationName };
        builder.ConnectionStringBuilder.ApplicationName = applicationName;
        if (maxPoolSize is { } size)
        {
            builder.ConnectionStringBuilder.MaxPoolSize = size;
        }

        builder.ConnectionStringBuilder.ApplyPigeonSettings();
        return builder.Build();
    }
}
