using Npgsql;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Deployment;

/// <summary>
/// A PostgreSQL server of a test's own, started with <c>scripts/postgres.sh</c> in a temporary
/// folder, so the test may stop and restart it without disturbing the shared test server. It runs
/// only where the shared one would (see <see cref="PostgresRequirement"/>).
/// </summary>
public sealed class PrivatePostgres : IAsyncDisposable
{
    private PrivatePostgres(string dataDirectory, string connectionString)
    {
        DataDirectory = dataDirectory;
        ConnectionString = connectionString;
        Port = new NpgsqlConnectionStringBuilder(connectionString).Port;
    }

    /// <summary>The data directory.</summary>
    public string DataDirectory { get; }

    /// <summary>A superuser connection string to the <c>postgres</c> database.</summary>
    public string ConnectionString { get; }

    /// <summary>The loopback port it listens on, the same across restarts.</summary>
    public int Port { get; }

    /// <summary>Initialises and starts a server; skips or fails the test as the PostgreSQL rule says where tests get none.</summary>
    public static async Task<PrivatePostgres> StartAsync(CancellationToken cancellationToken)
    {
        _ = PostgresRequirement.ConnectionString();
        var directory = Path.Combine(Path.GetTempPath(), $"pigeon-pg-{Guid.NewGuid():N}"[..24], "data");
        var result = await Scripts.RunAsync("postgres.sh", ["start", directory], TimeSpan.FromMinutes(3), cancellationToken);
        Assert.True(result.ExitCode == 0, $"PostgreSQL did not start: {result}");
        return new PrivatePostgres(directory, result.Output.Trim().Split('\n')[^1]);
    }

    /// <summary>Stops the server (fast shutdown: open connections are cut).</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var result = await Scripts.RunAsync("postgres.sh", ["stop", DataDirectory], TimeSpan.FromMinutes(2), cancellationToken);
        Assert.True(result.ExitCode == 0, $"PostgreSQL did not stop: {result}");
    }

    /// <summary>Starts the stopped server again on the same port.</summary>
    public async Task StartAgainAsync(CancellationToken cancellationToken)
    {
        var port = Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var result = await Scripts.RunAsync("postgres.sh", ["start", DataDirectory, port], TimeSpan.FromMinutes(2), cancellationToken);
        Assert.True(result.ExitCode == 0, $"PostgreSQL did not start again: {result}");
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await Scripts.RunAsync("postgres.sh", ["stop", DataDirectory], TimeSpan.FromMinutes(2), CancellationToken.None);
        try
        {
            Directory.Delete(Path.GetDirectoryName(DataDirectory)!, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temporary folder is harmless.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
