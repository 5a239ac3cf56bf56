using System.Globalization;

namespace Pigeon.Bench.Reporting;

/// <summary>Prints a result the way k6 prints its end-of-test summary: one dotted line per figure.</summary>
public static class SummaryWriter
{
    /// <summary>Writes <paramref name="result"/> to <paramref name="output"/>.</summary>
    public static void Write(BenchResult result, TextWriter output)
    {
        var c = CultureInfo.InvariantCulture;
        output.WriteLine();
        output.WriteLine($"  scenario: {result.Scenario}   {result.Command}");
        output.WriteLine(string.Create(c, $"  machine:  {result.Machine.Cores} cores, load {result.Machine.LoadBefore:0.00} before, {result.Machine.LoadAfter:0.00} after"));
        Line(output, "users_registered", string.Create(c, $"{result.UsersRegistered} in {result.RegistrationSeconds:0.0}s"));
        if (result.SetupErrors.Count > 0)
        {
            Line(output, "setup_retries", Statuses(result.SetupErrors));
        }

        foreach (var phase in result.Phases)
        {
            output.WriteLine();
            output.WriteLine($"  ▶ {phase.Name}");
            Line(output, "throughput", string.Create(c, $"{phase.MessagesPerSecond:0.0} msg/s ({phase.ThroughputOf}) over {phase.Seconds:0.00}s"));
            var m = phase.Messages;
            Line(output, "messages", string.Create(c,
                $"sent={m.Sent} committed={phase.Committed} delivered={m.Delivered} acked={phase.Acknowledged}"));
            Line(output, "lost", phase.ReadsMessages ? string.Create(c, $"{m.Lost}  duplicates={m.Duplicates} unexpected={m.Unexpected} failed_deposits={m.FailedDeposits} delivered_after_failure={m.DeliveredAfterFailure}")
                : string.Create(c, $"(not read in this phase)  failed_deposits={m.FailedDeposits}"));
            if (phase.Latency is { Count: > 0 } l)
            {
                Line(output, "latency_e2e", string.Create(c,
                    $"avg={l.Mean:0.00}ms p(50)={l.P50:0.00}ms p(95)={l.P95:0.00}ms p(99)={l.P99:0.00}ms max={l.Max:0.00}ms n={l.Count}"));
            }

            if (phase.LongestCall is { } longest)
            {
                Line(output, "longest_call", string.Create(c,
                    $"{longest.Seconds:0.00}s ({longest.Kind} sent at {longest.StartedAtSeconds:0.0}s, {(longest.Succeeded ? "answered" : "failed")})"));
            }

            if (phase.Kill is { } kill)
            {
                Line(output, "killed", kill.AtSeconds is { } at ? string.Create(c, $"pid {kill.Pid} at {at:0.00}s") : $"pid {kill.Pid}: not killed, the loop ended first");
                Line(output, "deposits_back_after_kill", Seconds(kill.DepositsBackAfterSeconds, c));
                Line(output, "deliveries_back_after_kill", Seconds(kill.DeliveriesBackAfterSeconds, c));
                Line(output, "per_second_after_kill", PerSecondAround(phase, kill, c));
            }

            var failed = phase.Errors.Values.Sum();
            Line(output, "http_req_failed", failed == 0 ? "0" : $"{failed} ({Statuses(phase.Errors)})");
            foreach (var (name, value) in phase.Figures)
            {
                Line(output, name, value.ToString("0.##", c));
            }
        }

        if (result.ServerCpu.Count > 0)
        {
            output.WriteLine();
            Line(output, "server_cpu_seconds", string.Join("  ", result.ServerCpu.Select(p => string.Create(c, $"{p.Name}({p.Pid})={p.CpuSeconds:0.00}"))));
            Line(output, "bench_cpu_seconds", result.BenchCpuSeconds.ToString("0.00", c));
        }

        output.WriteLine();
    }

    private static string Seconds(double? seconds, CultureInfo c) =>
        seconds is { } value ? string.Create(c, $"{value:0.00}s") : "not back before the measured window ended";

    // Deposits answered / messages delivered in each second from the one before the kill to ten after.
    private static string PerSecondAround(PhaseResult phase, KillResult kill, CultureInfo c)
    {
        if (kill.AtSeconds is not { } at)
        {
            return "-";
        }

        var first = Math.Max(0, (int)at - 1);
        return string.Join(" ", phase.Timeline.Skip(first).Take(12).Select(p => string.Create(c, $"{p.Second}:{p.Sent}/{p.Delivered}")));
    }

    private static string Statuses(IReadOnlyDictionary<string, long> counts) => string.Join(" ", counts.Select(p => $"{p.Key}:{p.Value}"));

    private static void Line(TextWriter output, string name, string value) =>
        output.WriteLine($"    {name.PadRight(32, '.')}: {value}");
}
