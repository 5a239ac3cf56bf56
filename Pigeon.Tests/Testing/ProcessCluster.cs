using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Orleans.Configuration;

namespace Pigeon.Tests.Testing;

/// <summary>
/// Silos and gateways run as real processes against one PostgreSQL database, in a cluster of their
/// own, with failure detection tuned so a killed silo is declared dead within seconds; and Orleans
/// clients that reach the silos the way a gateway does.
/// </summary>
public sealed class ProcessCluster(string connectionString) : IAsyncDisposable
{
    private readonly List<AppProcess> _processes = [];
    private readonly List<IHost> _clients = [];

    /// <summary>This cluster's id, unique so concurrent tests never meet.</summary>
    public string ClusterId { get; } = $"test-{Guid.NewGuid():N}";

    /// <summary>The environment that makes a process part of this cluster.</summary>
    public Dictionary<string, string> Environment(int siloPort, int gatewayPort, int httpPort) => new()
    {
        ["ConnectionStrings__Pigeon"] = connectionString,
        ["Pigeon__Cluster__ClusterId"] = ClusterId,
        ["Pigeon__Cluster__ServiceId"] = "pigeon-tests",
        ["Pigeon__Silo__SiloPort"] = siloPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Pigeon__Silo__GatewayPort"] = gatewayPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Pigeon__Silo__AdvertisedAddress"] = "127.0.0.1",
        ["Pigeon__Silo__ShutdownTimeout"] = "00:00:10",
        ["Urls"] = $"http://127.0.0.1:{httpPort}",
        ["Orleans__Membership__ProbeTimeout"] = "00:00:01",
        ["Orleans__Membership__NumMissedProbesLimit"] = "2",
        ["Orleans__Membership__TableRefreshTimeout"] = "00:00:02",
        ["Orleans__Membership__IAmAliveTablePublishTimeout"] = "00:00:05",
        ["Orleans__Membership__DeathVoteExpirationTimeout"] = "00:00:10",
    };

    /// <summary>Starts one silo process (extra settings override the defaults) and waits until it reports ready.</summary>
    public async Task<SiloHandle> StartSiloAsync(CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? settings = null)
    {
        int siloPort = BuiltApps.FreePort(), gatewayPort = BuiltApps.FreePort(), httpPort = BuiltApps.FreePort();
        var environment = Environment(siloPort, gatewayPort, httpPort);
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        var process = AppProcess.Start($"silo:{siloPort}", BuiltApps.AssemblyOf("Pigeon.Silo"), environment);
        _processes.Add(process);
        // Settings that replace Urls name the address first in their list.
        var silo = new SiloHandle(process, siloPort, gatewayPort, new Uri(environment["Urls"].Split(';')[0]));
        await silo.WaitUntilReadyAsync(TimeSpan.FromSeconds(60), cancellationToken);
        return silo;
    }

    /// <summary>
    /// Starts one silo that also serves the HTTP API (<c>Pigeon:Silo:ServeApi</c>, co-hosted) with this
    /// cluster's token key, and waits until it reports ready; <see cref="SiloHandle.Api"/> reaches the API.
    /// </summary>
    public Task<SiloHandle> StartCoHostedSiloAsync(CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? settings = null)
    {
        var environment = new Dictionary<string, string>
        {
            ["Pigeon__Silo__ServeApi"] = "true",
            ["Pigeon__Auth__TokenSigningKey"] = TokenSigningKey,
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        return StartSiloAsync(cancellationToken, environment);
    }

    /// <summary>
    /// Starts what serves the HTTP API and waits until it is ready: a gateway process, or with
    /// <paramref name="coHosted"/> a silo that serves the API itself. The settings apply to that process.
    /// </summary>
    public async Task<GatewayHandle> StartApiAsync(bool coHosted, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? settings = null) =>
        coHosted ? (await StartCoHostedSiloAsync(cancellationToken, settings)).Api : await StartGatewayAsync(cancellationToken, settings);

    /// <summary>The bearer-token key every gateway of this cluster shares.</summary>
    public string TokenSigningKey { get; } = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    /// <summary>Starts one gateway process (extra settings override the defaults) and waits until it reports ready at the first of its Urls.</summary>
    public async Task<GatewayHandle> StartGatewayAsync(CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? settings = null)
    {
        var gateway = StartGatewayProcess(settings);
        await ReadyProbe.WaitAsync(gateway.Process, gateway.BaseAddress, TimeSpan.FromSeconds(60), cancellationToken);
        return gateway;
    }

    /// <summary>Starts one gateway process without waiting for it to become ready.</summary>
    public GatewayHandle StartGatewayProcess(IReadOnlyDictionary<string, string>? settings = null)
    {
        var httpPort = BuiltApps.FreePort();
        var environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__Pigeon"] = connectionString,
            ["Pigeon__Cluster__ClusterId"] = ClusterId,
            ["Pigeon__Cluster__ServiceId"] = "pigeon-tests",
            ["Pigeon__Auth__TokenSigningKey"] = TokenSigningKey,
            ["Urls"] = $"http://127.0.0.1:{httpPort}",
            ["Orleans__Gateway__GatewayListRefreshPeriod"] = "00:00:01",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        var process = AppProcess.Start($"gateway:{httpPort}", BuiltApps.AssemblyOf("Pigeon.Gateway"), environment);
        _processes.Add(process);
        // Settings that replace Urls name the address first in their list.
        return new GatewayHandle(process, new Uri(environment["Urls"].Split(';')[0]));
    }

    /// <summary>An Orleans client of this cluster, finding gateways through the membership table.</summary>
    public async Task<IClusterClient> ConnectClientAsync(CancellationToken cancellationToken)
    {
        var host = new HostBuilder()
            .UseOrleansClient(client =>
            {
                client.Configure<ClusterOptions>(options =>
                {
                    options.ClusterId = ClusterId;
                    options.ServiceId = "pigeon-tests";
                });
                client.UseAdoNetClustering(options =>
                {
                    options.Invariant = "Npgsql";
                    options.ConnectionString = connectionString;
                });
                client.Configure<GatewayOptions>(options => options.GatewayListRefreshPeriod = TimeSpan.FromSeconds(1));
            })
            .Build();
        await host.StartAsync(cancellationToken);
        _clients.Add(host);
        return host.Services.GetRequiredService<IClusterClient>();
    }

    /// <summary>The membership rows of this cluster: (silo port, status).</summary>
    public async Task<List<(int Port, int Status)>> MembershipAsync(CancellationToken cancellationToken)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var command = dataSource.CreateCommand(
            "SELECT port, status FROM orleansmembershiptable WHERE deploymentid = @cluster ORDER BY port");
        command.Parameters.Add(new NpgsqlParameter<string>("cluster", ClusterId));
        var rows = new List<(int, int)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add((reader.GetInt32(0), reader.GetInt32(1)));
        }

        return rows;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            try
            {
                await client.StopAsync(TimeSpan.FromSeconds(5));
            }
            catch (Exception exception) when (exception is OperationCanceledException or Orleans.Runtime.OrleansException)
            {
                // A client of a cluster whose silos are gone may not stop cleanly; it is discarded anyway.
            }

            client.Dispose();
        }

        foreach (var process in _processes)
        {
            await process.DisposeAsync();
        }
    }
}

/// <summary>One silo process of a <see cref="ProcessCluster"/>.</summary>
public sealed class SiloHandle(AppProcess process, int siloPort, int gatewayPort, Uri health)
{
    public AppProcess Process { get; } = process;

    public int SiloPort { get; } = siloPort;

    public int GatewayPort { get; } = gatewayPort;

    public Uri Health { get; } = health;

    /// <summary>The HTTP API at this silo's HTTP address, for a silo that serves it co-hosted.</summary>
    public GatewayHandle Api => new(Process, Health);

    /// <summary>Polls <c>/health/ready</c> until it answers 200; fails with the silo's output otherwise.</summary>
    public Task WaitUntilReadyAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        ReadyProbe.WaitAsync(Process, Health, timeout, cancellationToken);
}

/// <summary>One gateway process of a <see cref="ProcessCluster"/>.</summary>
public sealed class GatewayHandle(AppProcess process, Uri baseAddress)
{
    public AppProcess Process { get; } = process;

    /// <summary>The gateway's HTTP address on loopback.</summary>
    public Uri BaseAddress { get; } = baseAddress;

    /// <summary>An HTTP client for this gateway.</summary>
    public HttpClient CreateClient() => new() { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
}

/// <summary>Waits for an app's readiness endpoint.</summary>
public static class ReadyProbe
{
    /// <summary>Polls <c>/health/ready</c> until it answers 200; fails with the process's output otherwise.</summary>
    public static async Task WaitAsync(AppProcess process, Uri baseAddress, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{process.Name} exited with {process.ExitCode}:\n{process.Output}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri(baseAddress, "/health/ready"), cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // The probe itself timed out; try again.
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
        }

        throw new TimeoutException($"{process.Name} was not ready within {timeout}:\n{process.Output}");
    }
}
