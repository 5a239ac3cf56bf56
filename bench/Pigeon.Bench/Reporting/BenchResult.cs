using System.Text.Json;
using System.Text.Json.Serialization;
using Pigeon.Bench.Stats;

namespace Pigeon.Bench.Reporting;

/// <summary>The outcome of one phase.</summary>
public sealed record PhaseResult
{
    /// <summary>The phase's name.</summary>
    public required string Name { get; init; }

    /// <summary>The seconds the phase's figure is measured over.</summary>
    public required double Seconds { get; init; }

    /// <summary>The phase's main throughput in messages per second (what the targets compare with).</summary>
    public required double MessagesPerSecond { get; init; }

    /// <summary>What <see cref="MessagesPerSecond"/> counts.</summary>
    public required string ThroughputOf { get; init; }

    /// <summary>Sent, delivered, lost and duplicate messages.</summary>
    public required DeliveryCounts Messages { get; init; }

    /// <summary>Whether the phase reads what it sends (otherwise "lost" means nothing).</summary>
    public bool ReadsMessages { get; init; } = true;

    /// <summary>Envelopes committed (200 to a deposit).</summary>
    public long Committed { get; init; }

    /// <summary>Envelopes acknowledged.</summary>
    public long Acknowledged { get; init; }

    /// <summary>End-to-end latency, when the phase measures one.</summary>
    public LatencySummary? Latency { get; init; }

    /// <summary>Failed requests by status.</summary>
    public required SortedDictionary<string, long> Errors { get; init; }

    /// <summary>The request that went unanswered longest beyond what it asked for (<see cref="CallStalls"/>).</summary>
    public CallStall? LongestCall { get; init; }

    /// <summary>What the SIGKILL of <c>--kill-pid</c> did, when the phase had one.</summary>
    public KillResult? Kill { get; init; }

    /// <summary>Scenario-specific figures (connections held, memory, …).</summary>
    public SortedDictionary<string, double> Figures { get; init; } = new(StringComparer.Ordinal);

    /// <summary>Per-second counts.</summary>
    public IReadOnlyList<TimelinePoint> Timeline { get; init; } = [];
}

/// <summary>A process killed during a phase, and how the service came back.</summary>
/// <param name="Pid">The process.</param>
/// <param name="AtSeconds">When it was killed, in seconds since the phase started; null when the phase ended first.</param>
/// <param name="DepositsBackAfterSeconds">Seconds from the kill until answered deposits per second were back at the offered rate (<see cref="RateRecovery"/>); null when they were not before the measured window ended.</param>
/// <param name="DeliveriesBackAfterSeconds">The same for messages delivered per second.</param>
public sealed record KillResult(int Pid, double? AtSeconds, double? DepositsBackAfterSeconds, double? DeliveriesBackAfterSeconds);

/// <summary>The outcome of a run, as written to <c>--out</c>.</summary>
public sealed record BenchResult
{
    /// <summary>The scenario.</summary>
    public required string Scenario { get; init; }

    /// <summary>The command line after the program name.</summary>
    public required string Command { get; init; }

    /// <summary>When the run started.</summary>
    public required DateTimeOffset StartedAt { get; init; }

    /// <summary>The machine: cores and load averages before and after.</summary>
    public required MachineInfo Machine { get; init; }

    /// <summary>Users registered before measuring, and failed attempts while doing so.</summary>
    public int UsersRegistered { get; init; }

    /// <summary>Seconds the registration took.</summary>
    public double RegistrationSeconds { get; init; }

    /// <summary>Retried registration or login requests by status.</summary>
    public SortedDictionary<string, long> SetupErrors { get; init; } = new(StringComparer.Ordinal);

    /// <summary>The phases in order.</summary>
    public required IReadOnlyList<PhaseResult> Phases { get; init; }

    /// <summary>CPU seconds the bench itself used (it shares the machine with the server).</summary>
    public double BenchCpuSeconds { get; init; }

    /// <summary>CPU seconds of the server processes over the whole run.</summary>
    public IReadOnlyList<ProcessCpu> ServerCpu { get; init; } = [];

    /// <summary>Writes the result as indented JSON.</summary>
    public void WriteJson(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this, ResultJson.Default.BenchResult));
}

/// <summary>The machine a run was made on.</summary>
/// <param name="Cores">Logical processors.</param>
/// <param name="LoadBefore">1-minute load average at the start.</param>
/// <param name="LoadAfter">1-minute load average at the end.</param>
public sealed record MachineInfo(int Cores, double? LoadBefore, double? LoadAfter)
{
    /// <summary>The 1-minute load average from <c>/proc/loadavg</c>, or null.</summary>
    public static double? LoadAverage()
    {
        try
        {
            return double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return null;
        }
    }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true)]
[JsonSerializable(typeof(BenchResult))]
internal sealed partial class ResultJson : JsonSerializerContext;
