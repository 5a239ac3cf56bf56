using System.Globalization;
using Pigeon.Api;

namespace Pigeon.Bench;

/// <summary>
/// Everything a run can be told on the command line. Defaults are the figures the targets are stated
/// for; every count and duration is bounded so a run always ends by itself.
/// </summary>
public sealed record BenchOptions
{
    /// <summary>The scenario: store, drain, pairs or longpolls.</summary>
    public required string Scenario { get; init; }

    /// <summary>The gateway's base address (loopback only).</summary>
    public required Uri Server { get; init; }

    /// <summary>Users: long-poll connections in <c>longpolls</c>, recipients in <c>store</c> and <c>drain</c>.</summary>
    public int Users { get; init; } = 10_000;

    /// <summary>Sender–recipient pairs in <c>pairs</c>.</summary>
    public int Pairs { get; init; } = 100;

    /// <summary>Offered load in messages per second (open loop in <c>pairs</c>, trickle in <c>longpolls</c>).</summary>
    public double Rate { get; init; } = 1_000;

    /// <summary>Measured duration.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Unmeasured warm-up before the measured duration.</summary>
    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Unmeasured stage before the warm-up in <c>pairs</c>: the open loop's rate rises linearly from 0
    /// to <see cref="Rate"/>, the closed loop's pairs start one after another.
    /// </summary>
    public TimeSpan RampUp { get; init; } = TimeSpan.Zero;

    /// <summary>
    /// Unmeasured stage after the measured duration in <c>pairs</c>: the open loop's rate falls
    /// linearly to 0, the closed loop's pairs stop one after another.
    /// </summary>
    public TimeSpan RampDown { get; init; } = TimeSpan.Zero;

    /// <summary>When the measured window starts, after the ramp-up and the warm-up.</summary>
    public TimeSpan MeasuredFrom => RampUp + Warmup;

    /// <summary>When the measured window ends and the ramp-down starts.</summary>
    public TimeSpan MeasuredUntil => RampUp + Warmup + Duration;

    /// <summary>open, closed or both (<c>pairs</c>).</summary>
    public string Loop { get; init; } = "both";

    /// <summary>Payload size in bytes (random bytes, or the plaintext size with <see cref="EndToEnd"/>).</summary>
    public int PayloadBytes { get; init; } = 256;

    /// <summary>Send real Double Ratchet ciphertext instead of random bytes.</summary>
    public bool EndToEnd { get; init; }

    /// <summary>Messages to store in <c>store</c> and <c>drain</c>.</summary>
    public int Messages { get; init; } = 5_000;

    /// <summary>Envelopes per deposit request in <c>store</c>.</summary>
    public int Batch { get; init; } = ApiLimits.MaxDepositBatch;

    /// <summary>Deposit requests in flight at once in <c>store</c>.</summary>
    public int Concurrency { get; init; } = 8;

    /// <summary>Registrations in flight at once.</summary>
    public int RegisterConcurrency { get; init; } = 32;

    /// <summary>New long-polls opened per second while ramping up.</summary>
    public double RampPerSecond { get; init; } = 1_000;

    /// <summary>Long-poll wait in seconds (at most 25).</summary>
    public int WaitSeconds { get; init; } = ApiLimits.MaxWaitSeconds;

    /// <summary>How long to wait for the last messages after the sending stops.</summary>
    public TimeSpan Grace { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// poll: a reader acknowledges each batch on its next long-poll (<c>GET /v1/messages?ack=…</c>) and
    /// posts what is left when it stops; separate: with <c>POST /v1/messages/ack</c> after each batch.
    /// </summary>
    public string AckMode { get; init; } = "poll";

    /// <summary>Whether readers carry acknowledgements on their polls (<see cref="AckMode"/> poll).</summary>
    public bool AckOnPoll => AckMode == "poll";

    /// <summary>PostgreSQL connection string, to watch the envelope table empty in <c>drain</c>.</summary>
    public string? Database { get; init; }

    /// <summary>The gateway's pid, for its resident memory.</summary>
    public int? GatewayPid { get; init; }

    /// <summary>Server pids whose CPU time to report.</summary>
    public IReadOnlyList<int> Pids { get; init; } = [];

    /// <summary>The local stack's folder (<c>scripts/dev.sh</c>), to find the pids by their pid files.</summary>
    public string? DevDirectory { get; init; }

    /// <summary>A server process to end with SIGKILL during the open loop of <c>pairs</c> (at <see cref="KillAt"/>).</summary>
    public int? KillPid { get; init; }

    /// <summary>When to kill <see cref="KillPid"/>, after the open loop's start (ramp-up and warm-up included).</summary>
    public TimeSpan KillAt { get; init; }

    /// <summary>Where to write the JSON result.</summary>
    public string? OutFile { get; init; }

    /// <summary>Where to draw the timeline as PNG (one file per phase).</summary>
    public string? PlotFile { get; init; }

    /// <summary>Members of the group (group).</summary>
    public int Members { get; init; } = 100;

    /// <summary>How many of the members take turns to send (group).</summary>
    public int Senders { get; init; } = 4;

    /// <summary>
    /// Devices per member account (group): each on the account's signed list, signing in with its own
    /// key and long-polling its own mailbox; at most an account's default maximum.
    /// </summary>
    public int Devices { get; init; } = 1;

    /// <summary>Print no progress line.</summary>
    public bool Quiet { get; init; }

    /// <summary>The usage text.</summary>
    public const string Usage = """
        usage: Pigeon.Bench <store|drain|pairs|longpolls|group> --server URL [options]

          --users N               long-poll users (longpolls, default 10000) or offline recipients (store/drain, default 50)
          --pairs N               online pairs (pairs, default 100)
          --members N             group members, every one long-polling and decrypting (group, default 100)
          --senders N             members taking turns to send, each message sealed to every other member (group, default 4)
          --devices N             devices per member, 1 to 6: each message goes to every device of every other member
                                  (sealed) and to the sender's own other devices (identified) (group, default 1)
          --rate R                messages/s: open-loop rate (pairs, default 1000; group, default 5) or trickle (longpolls, default 10)
          --duration S            measured seconds (default 30)
          --warmup S              unmeasured seconds first (default 3)
          --ramp-up S             pairs: unmeasured seconds before the warm-up, rising from 0 to the load (default 0)
          --ramp-down S           pairs: unmeasured seconds after the measured ones, falling back to 0 (default 0)
          --loop open|closed|both pairs: which loops to run (default both)
          --size B                payload bytes (default 256)
          --e2e                   sealed envelopes of real Double Ratchet ciphertext, on the sealed route (pairs)
          --messages N            messages to store (store/drain, default 5000)
          --batch N               envelopes per deposit (store/drain, default 100)
          --concurrency N         deposits in flight (store/drain, default 8)
          --register-concurrency N  registrations in flight (default 32)
          --ramp R                long-polls opened per second (longpolls, default 1000)
          --wait S                long-poll wait seconds, at most 25 (default 25)
          --grace S               seconds to wait for stragglers after sending (default 10)
          --ack-mode poll|separate  acknowledge each batch on the next long-poll, posting what is left at the end
                                  (default poll), or with POST /v1/messages/ack after each batch (separate)
          --database CONN         PostgreSQL connection string (drain: wait until pigeon.envelopes is empty)
          --gateway-pid PID       gateway pid for its memory (default: from the dev stack's pid file)
          --pids P1,P2            server pids for CPU seconds (default: the dev stack's gateway and silos)
          --dev-dir DIR           the dev stack's folder (default $PIGEON_DEV_DIR or .dev/local)
          --kill-pid PID          pairs --loop open: SIGKILL this server process during the loop, and report when
                                  deposits and deliveries per second were back at the offered rate
          --kill-at S             seconds into the loop to kill it (with --kill-pid; within the measured window)
          --out FILE              write the result as JSON
          --plot FILE.png         draw throughput and latency per second (one PNG per phase)
          --quiet                 no progress line
        """;

    /// <summary>Parses the command line; throws <see cref="ArgumentException"/> with the reason when it is wrong.</summary>
    public static BenchOptions Parse(IReadOnlyList<string> args)
    {
        if (args.Count == 0 || args[0].StartsWith('-'))
        {
            throw new ArgumentException("the scenario comes first.");
        }

        var scenario = args[0];
        if (scenario is not ("store" or "drain" or "pairs" or "longpolls" or "group"))
        {
            throw new ArgumentException($"unknown scenario '{scenario}'.");
        }

        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var flags = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 1; i < args.Count; i++)
        {
            var name = args[i];
            if (!name.StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"unexpected '{name}'.");
            }

            if (name is "--e2e" or "--quiet")
            {
                flags.Add(name);
            }
            else if (i + 1 < args.Count)
            {
                values[name] = args[++i];
            }
            else
            {
                throw new ArgumentException($"{name} needs a value.");
            }
        }

        var known = new HashSet<string>(StringComparer.Ordinal)
        {
            "--server", "--users", "--pairs", "--rate", "--duration", "--warmup", "--ramp-up", "--ramp-down", "--loop", "--size", "--messages", "--batch",
            "--concurrency", "--register-concurrency", "--ramp", "--wait", "--grace", "--ack-mode", "--database", "--gateway-pid", "--pids",
            "--dev-dir", "--out", "--plot", "--kill-pid", "--kill-at", "--members", "--senders", "--devices",
        };
        if (values.Keys.FirstOrDefault(k => !known.Contains(k)) is { } unknown)
        {
            throw new ArgumentException($"unknown option {unknown}.");
        }

        if (!values.TryGetValue("--server", out var server) || !Uri.TryCreate(server, UriKind.Absolute, out var serverUri))
        {
            throw new ArgumentException("--server URL is required.");
        }

        int Int(string name, int fallback, int min, int max)
        {
            if (!values.TryGetValue(name, out var text))
            {
                return fallback;
            }

            return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
                ? value
                : throw new ArgumentException($"{name} must be a whole number from {min} to {max}.");
        }

        double Number(string name, double fallback, double min, double max)
        {
            if (!values.TryGetValue(name, out var text))
            {
                return fallback;
            }

            return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
                ? value
                : throw new ArgumentException($"{name} must be a number from {min} to {max}.");
        }

        var loop = values.GetValueOrDefault("--loop", "both");
        if (loop is not ("open" or "closed" or "both"))
        {
            throw new ArgumentException("--loop must be open, closed or both.");
        }

        var ackMode = values.GetValueOrDefault("--ack-mode", "poll");
        if (ackMode is not ("poll" or "separate"))
        {
            throw new ArgumentException("--ack-mode must be poll or separate.");
        }

        var pids = values.TryGetValue("--pids", out var pidList)
            ? pidList.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(p => int.TryParse(p, NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid) && pid > 0
                    ? pid : throw new ArgumentException("--pids must be process ids separated by commas."))
                .ToList()
            : [];

        if (values.TryGetValue("--database", out var database))
        {
            try
            {
                _ = new Npgsql.NpgsqlConnectionStringBuilder(database);
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"--database is not a connection string: {e.Message}", e);
            }
        }

        int? killPid = values.ContainsKey("--kill-pid") ? Int("--kill-pid", 0, 1, int.MaxValue) : null;
        if (killPid.HasValue != values.ContainsKey("--kill-at"))
        {
            throw new ArgumentException("--kill-pid and --kill-at go together.");
        }

        if (killPid is not null && (scenario != "pairs" || loop != "open"))
        {
            throw new ArgumentException("--kill-pid is for pairs --loop open: only the open loop offers a rate to come back to.");
        }

        var killAt = TimeSpan.FromSeconds(Number("--kill-at", 0, 0, 3_600));
        var devices = Int("--devices", 1, 1, Protocol.Devices.DeviceList.DefaultMaxDevices);
        if (devices > 1 && scenario != "group")
        {
            throw new ArgumentException("--devices is for the group scenario.");
        }

        var options = new BenchOptions
        {
            Scenario = scenario,
            Server = serverUri,
            Users = Int("--users", scenario == "longpolls" ? 10_000 : 50, 1, 20_000),
            Pairs = Int("--pairs", 100, 1, 5_000),
            Rate = Number("--rate", scenario switch { "longpolls" => 10, "group" => 5, _ => 1_000 }, 0.1, 1_000_000),
            Members = Int("--members", 100, 2, 2_000),
            Senders = Int("--senders", 4, 1, 2_000),
            Devices = devices,
            Duration = TimeSpan.FromSeconds(Number("--duration", 30, 0.5, 3_600)),
            Warmup = TimeSpan.FromSeconds(Number("--warmup", 3, 0, 600)),
            RampUp = TimeSpan.FromSeconds(Number("--ramp-up", 0, 0, 600)),
            RampDown = TimeSpan.FromSeconds(Number("--ramp-down", 0, 0, 600)),
            Loop = loop,
            PayloadBytes = Int("--size", 256, 1, 1 << 20),
            EndToEnd = flags.Contains("--e2e") || scenario == "group",
            Messages = Int("--messages", 5_000, 1, 10_000_000),
            Batch = Int("--batch", ApiLimits.MaxDepositBatch, 1, 10_000),
            Concurrency = Int("--concurrency", 8, 1, 1_000),
            RegisterConcurrency = Int("--register-concurrency", 32, 1, 1_000),
            RampPerSecond = Number("--ramp", 1_000, 1, 100_000),
            WaitSeconds = Int("--wait", ApiLimits.MaxWaitSeconds, 0, ApiLimits.MaxWaitSeconds),
            Grace = TimeSpan.FromSeconds(Number("--grace", 10, 0, 600)),
            AckMode = ackMode,
            Database = values.GetValueOrDefault("--database"),
            GatewayPid = values.ContainsKey("--gateway-pid") ? Int("--gateway-pid", 0, 1, int.MaxValue) : null,
            Pids = pids,
            DevDirectory = values.GetValueOrDefault("--dev-dir"),
            OutFile = values.GetValueOrDefault("--out"),
            PlotFile = values.GetValueOrDefault("--plot"),
            Quiet = flags.Contains("--quiet"),
            KillPid = killPid,
            KillAt = killAt,
        };
        if (killPid is not null && (killAt < options.MeasuredFrom || killAt >= options.MeasuredUntil))
        {
            throw new ArgumentException(
                $"--kill-at must fall in the measured window, from {options.MeasuredFrom.TotalSeconds:0.#} s to before {options.MeasuredUntil.TotalSeconds:0.#} s.");
        }

        return options;
    }
}
