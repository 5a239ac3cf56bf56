using System.Globalization;
using Pigeon.Api;
using Pigeon.Bench.Api;
using Pigeon.Bench.Reporting;
using Pigeon.Bench.Stats;

namespace Pigeon.Bench.Scenarios;

/// <summary>
/// (d) Idle connections: every user parks a long-poll at the gateway, opened at a fixed ramp rate, and
/// the connections are held for the duration while a trickle of messages reaches random users. The
/// figures are the connections held, the failures by status and the gateway's resident memory.
/// </summary>
public static class LongPollsScenario
{
    /// <summary>Registers the users, ramps up, holds, and returns the phase result.</summary>
    public static async Task<IReadOnlyList<PhaseResult>> RunAsync(BenchRun run, CancellationToken cancellationToken)
    {
        var options = run.Options;
        var users = await run.CreateUsersAsync(options.Users + 1, cancellationToken);
        var sender = users[0];
        var pollers = users[1..];
        var rampTime = TimeSpan.FromSeconds(pollers.Count / options.RampPerSecond);
        var maxSeconds = (int)(rampTime + options.Duration + options.Grace).TotalSeconds + 60;
        var phase = new Phase($"{pollers.Count} idle long-polls, trickle {options.Rate:0.#} msg/s", run.Time, maxSeconds);
        var reader = new MailboxReader(run.Client, phase, options.WaitSeconds, ApiLimits.MaxReceiveBatch, awaitAcks: false, options.AckOnPoll);
        double rssBefore = run.Servers.GatewayRssMiB() ?? 0, rssPeak = rssBefore;
        long minHeld = long.MaxValue;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var reading = new List<Task>(pollers.Count);
        double? gatewayOpen = null;
        var held = false;

        await using (new ProgressLine(() =>
            {
                var rss = run.Servers.GatewayRssMiB();
                rssPeak = Math.Max(rssPeak, rss ?? 0);
                phase.Timeline.Gauge(run.Time.GetTimestamp(), reader.OpenPolls);
                if (held)
                {
                    minHeld = Math.Min(minHeld, reader.OpenPolls);
                }

                return $"polls open={reader.OpenPolls} started={reading.Count}/{pollers.Count} errors={phase.Errors.Total} " +
                    $"delivered={phase.Ledger.Delivered}/{phase.Ledger.Count().Sent} gateway rss={rss:0} MiB";
            }, options.Quiet, run.Time))
        {
            // Ramp: the i-th long-poll opens at i / ramp seconds.
            var ramp = new OpenLoopSchedule(options.RampPerSecond, rampTime);
            var next = 0;
            while (next < pollers.Count)
            {
                var due = (int)Math.Min(ramp.DueBy(phase.Elapsed), pollers.Count);
                for (; next < due; next++)
                {
                    reading.Add(reader.RunAsync(pollers[next], stop.Token));
                }

                await Task.Delay(TimeSpan.FromMilliseconds(10), run.Time, cancellationToken);
            }

            await run.WaitUntilAsync(() => reader.OpenPolls >= pollers.Count, TimeSpan.FromSeconds(30), cancellationToken);
            var rampedAfter = phase.Elapsed;
            held = true;

            // Hold, with a trickle of messages to random users.
            var trickle = new OpenLoopSchedule(options.Rate, options.Duration);
            var holdStart = phase.Elapsed;
            var sends = new List<Task>();
            long sent = 0;
            while (phase.Elapsed - holdStart < options.Duration)
            {
                var due = trickle.DueBy(phase.Elapsed - holdStart);
                for (; sent < due; sent++)
                {
                    var dueAt = holdStart + trickle.DueAt(sent);
                    sends.Add(SendAsync(run, phase, sender, pollers[Random.Shared.Next(pollers.Count)], phase.TimestampAt(dueAt), cancellationToken));
                }

                await Task.Delay(TimeSpan.FromMilliseconds(20), run.Time, cancellationToken);
            }

            await Task.WhenAll(sends);
            gatewayOpen = await ReadGatewayGaugeAsync(run.Options.Server, "pigeon_long_polls_active", cancellationToken);
            held = false;
            var heldAtEnd = reader.OpenPolls;
            await run.WaitUntilAsync(() => phase.Ledger.Outstanding == 0, options.Grace, cancellationToken);
            await stop.CancelAsync();
            await Task.WhenAll(reading);

            var figures = new SortedDictionary<string, double>(StringComparer.Ordinal)
            {
                ["connections_target"] = pollers.Count,
                ["connections_peak"] = reader.PeakOpenPolls,
                ["connections_min_while_holding"] = minHeld == long.MaxValue ? heldAtEnd : minHeld,
                ["connections_at_end"] = heldAtEnd,
                ["ramp_seconds"] = rampedAfter.TotalSeconds,
                ["gateway_rss_before_mib"] = rssBefore,
                ["gateway_rss_peak_mib"] = rssPeak,
            };
            if (gatewayOpen is { } open)
            {
                figures["gateway_long_polls_open_metric"] = open;
            }

            if (pollers.Count > 0 && rssPeak > rssBefore)
            {
                figures["gateway_kib_per_connection"] = (rssPeak - rssBefore) * 1024 / pollers.Count;
            }

            return [BenchRun.Summarize(phase, options.Duration, phase.Ledger.Delivered, "trickle messages delivered", withLatency: true, figures)];
        }
    }

    private static async Task SendAsync(BenchRun run, Phase phase, VirtualUser sender, VirtualUser recipient, long dueAt, CancellationToken cancellationToken)
    {
        var id = Guid.NewGuid();
        phase.Ledger.Sent(id, dueAt);
        try
        {
            await run.Client.DepositAsync(sender, [new OutgoingEnvelope(recipient.AccountId, id, run.RandomPayload())], cancellationToken);
            phase.Ledger.Committed(id);
            phase.AddCommitted(1);
            phase.Timeline.Sent(run.Time.GetTimestamp());
        }
        catch (GatewayRequestException e)
        {
            phase.Ledger.Failed(id);
            phase.Failed(e.Key);
        }
    }

    /// <summary>Reads one gauge (its first series) from the gateway's Prometheus endpoint; null when it cannot.</summary>
    private static async Task<double?> ReadGatewayGaugeAsync(Uri server, string name, CancellationToken cancellationToken)
    {
        try
        {
            using var http = new HttpClient { BaseAddress = server, Timeout = TimeSpan.FromSeconds(10) };
            var text = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative), cancellationToken);
            // OpenTelemetry's exporter labels every series with its meter (otel_scope_name) and may add a timestamp.
            var line = text.Split('\n').FirstOrDefault(l => l.StartsWith(name + " ", StringComparison.Ordinal) || l.StartsWith(name + "{", StringComparison.Ordinal));
            if (line is null)
            {
                return null;
            }

            var valueStart = line[name.Length] == '{' ? line.LastIndexOf('}') + 1 : name.Length;
            return double.Parse(line[valueStart..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (HttpRequestException)
        {
            return null;
        }
        catch (TaskCanceledException)
        {
            return null;
        }
    }
}
