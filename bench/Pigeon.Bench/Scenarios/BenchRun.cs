using Pigeon.Bench.Api;
using Pigeon.Bench.Reporting;
using Pigeon.Bench.Stats;

namespace Pigeon.Bench.Scenarios;

/// <summary>What every scenario shares: the options, the clock, the HTTP client, the users and the server processes.</summary>
public sealed class BenchRun : IDisposable
{
    private readonly DateTimeOffset _startedAt;
    private readonly double? _loadBefore;
    private readonly TimeSpan _cpuAtStart = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
    private readonly List<VirtualUser> _users = [];

    /// <summary>A run with a connection pool of <paramref name="maxConnections"/> sockets.</summary>
    public BenchRun(BenchOptions options, int maxConnections, TimeProvider? time = null)
    {
        Options = options;
        Time = time ?? TimeProvider.System;
        _startedAt = Time.GetUtcNow();
        _loadBefore = MachineInfo.LoadAverage();
        if (!options.Server.IsLoopback)
        {
            throw new ArgumentException($"the bench only loads loopback servers, not {options.Server.Host}.");
        }

        if (options.KillPid is { } pid && ProcessKill.Problem(pid) is { } problem)
        {
            throw new ArgumentException(problem);
        }

        Client = new LoadClient(options.Server, maxConnections);
        Servers = new ServerProcesses(options.GatewayPid, options.Pids, options.DevDirectory);
    }

    /// <summary>The options.</summary>
    public BenchOptions Options { get; }

    /// <summary>The clock.</summary>
    public TimeProvider Time { get; }

    /// <summary>The users' way to the gateway.</summary>
    public LoadClient Client { get; }

    /// <summary>The server processes watched for memory and CPU.</summary>
    public ServerProcesses Servers { get; }

    /// <summary>Registration and login failures that were retried.</summary>
    public StatusCounter SetupErrors { get; } = new();

    /// <summary>How long registering the users took.</summary>
    public TimeSpan RegistrationTime { get; private set; }

    /// <summary>
    /// Registers and logs in <paramref name="count"/> new users, printing progress; only end-to-end mode
    /// keeps their private keys. With <paramref name="devicesEach"/> above 1 every account has that many
    /// devices, each signed in (<see cref="VirtualUser.Devices"/>); the users returned are their first devices.
    /// </summary>
    public async Task<List<VirtualUser>> CreateUsersAsync(int count, CancellationToken cancellationToken, int devicesEach = 1)
    {
        var start = Time.GetTimestamp();
        var done = 0;
        await using (new ProgressLine(() => $"registering users {Volatile.Read(ref done)}/{count}  retries={SetupErrors.Total}", Options.Quiet, Time))
        {
            var users = await Client.CreateUsersAsync(count, Options.RegisterConcurrency, SetupErrors, n => Volatile.Write(ref done, n),
                keepIdentities: Options.EndToEnd, cancellationToken, devicesEach);
            _users.AddRange(users.SelectMany(u => u.Devices));
            RegistrationTime += Time.GetElapsedTime(start);
            return users;
        }
    }

    /// <summary>Assembles the result of the phases.</summary>
    public BenchResult Result(IReadOnlyList<PhaseResult> phases, string command) => new()
    {
        Scenario = Options.Scenario,
        Command = command,
        StartedAt = _startedAt,
        Machine = new MachineInfo(Environment.ProcessorCount, _loadBefore, MachineInfo.LoadAverage()),
        UsersRegistered = _users.Select(u => u.AccountId).Distinct(StringComparer.Ordinal).Count(),
        RegistrationSeconds = RegistrationTime.TotalSeconds,
        SetupErrors = SetupErrors.Snapshot(),
        Phases = phases,
        ServerCpu = Servers.CpuSinceStart(),
        BenchCpuSeconds = (System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - _cpuAtStart).TotalSeconds,
    };

    /// <summary>A phase's result with the common figures filled in.</summary>
    public static PhaseResult Summarize(Phase phase, TimeSpan measured, double messages, string throughputOf, bool withLatency,
        SortedDictionary<string, double>? figures = null) => new()
        {
            Name = phase.Name,
            Seconds = measured.TotalSeconds,
            MessagesPerSecond = measured > TimeSpan.Zero ? messages / measured.TotalSeconds : 0,
            ThroughputOf = throughputOf,
            Messages = phase.ReadsMessages ? phase.Ledger.Count() : phase.Ledger.Count() with { Lost = 0 },
            ReadsMessages = phase.ReadsMessages,
            Committed = phase.Committed,
            Acknowledged = phase.Acknowledged,
            Latency = withLatency ? phase.Latency.Summarize() : null,
            Errors = phase.Errors.Snapshot(),
            LongestCall = phase.Stalls.Longest,
            Figures = figures ?? new(StringComparer.Ordinal),
            Timeline = phase.Timeline.Points((int)Math.Ceiling(phase.Elapsed.TotalSeconds)),
        };

    /// <summary>Waits until <paramref name="done"/> holds or <paramref name="timeout"/> passes; true when it held.</summary>
    public async Task<bool> WaitUntilAsync(Func<bool> done, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var start = Time.GetTimestamp();
        while (!done())
        {
            if (Time.GetElapsedTime(start) >= timeout)
            {
                return false;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20), Time, cancellationToken);
        }

        return true;
    }

    /// <summary>Random payload bytes of the configured size.</summary>
    public byte[] RandomPayload()
    {
        var payload = new byte[Options.PayloadBytes];
        Random.Shared.NextBytes(payload);
        return payload;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Client.Dispose();
        foreach (var user in _users)
        {
            user.Dispose();
        }
    }
}
