using Npgsql;

namespace Pigeon.Grains.Hosting;

/// <summary>Session settings for the connections Pigeon's grains use.</summary>
public static class PigeonDatabaseSettings
{
    /// <summary>
    /// Turns sequential scans off for these sessions. Every statement the grains run looks rows up by
    /// key, but the envelope tables are queues: autovacuum often analyses them while they are nearly
    /// empty, the planner then believes they are tiny and scans them whole, and under load those scans
    /// read every dead row the churn left behind (measured: PostgreSQL's CPU per message tripled within
    /// a minute of load). With this the planner keeps to the indexes; a statement without a usable index
    /// still runs, as a scan.
    /// </summary>
    public static NpgsqlConnectionStringBuilder KeepToIndexes(this NpgsqlConnectionStringBuilder connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        const string setting = "-c enable_seqscan=off";
        connection.Options = string.IsNullOrWhiteSpace(connection.Options) ? setting : $"{connection.Options} {setting}";
        return connection;
    }
}
