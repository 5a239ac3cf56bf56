using Pigeon.Api;
using Pigeon.Bench.Api;
using Pigeon.Bench.Reporting;
using Pigeon.Bench.Stats;

namespace Pigeon.Bench.Scenarios;

/// <summary>
/// (c) Online pairs: each sender deposits to its own recipient, whose long-poll returns the message;
/// latency runs from the send's start (its scheduled start in the open loop) to the receipt. The open
/// loop offers a fixed total rate from the clock; the closed loop keeps one message in flight per pair.
/// Each loop runs in stages: a ramp-up (the open loop's rate rises linearly, the closed loop's pairs
/// start one by one), the warm-up and the measured window at full load, and a ramp-down. Only the
/// measured window's latencies are recorded; every message of every stage is accounted for by id.
/// </summary>
public static class PairsScenario
{
    /// <summary>Runs the loops the options ask for and returns one phase result per loop.</summary>
    public static async Task<IReadOnlyList<PhaseResult>> RunAsync(BenchRun run, CancellationToken cancellationToken)
    {
        var options = run.Options;
        var users = await run.CreateUsersAsync(options.Pairs * 2, cancellationToken);
        var senders = users[..options.Pairs];
        var recipients = users[options.Pairs..];
        var channels = options.EndToEnd
            ? senders.Zip(recipients, (s, r) => new EndToEndChannel(s, r)).ToArray()
            : null;
        var channelOf = channels?.Zip(recipients).ToDictionary(p => p.Second.AccountId, p => p.First, StringComparer.Ordinal);

        var maxSeconds = (int)(options.MeasuredUntil + options.RampDown + options.Grace).TotalSeconds + 30;
        var phases = new List<Phase>();
        if (options.Loop is "open" or "both")
        {
            phases.Add(new Phase($"pairs open loop {options.Rate:0.#} msg/s", run.Time, maxSeconds));
        }

        if (options.Loop is "closed" or "both")
        {
            phases.Add(new Phase("pairs closed loop", run.Time, maxSeconds));
        }

        var reader = new MailboxReader(run.Client, phases[0], Math.Min(options.WaitSeconds, ApiLimits.MaxWaitSeconds), ApiLimits.MaxReceiveBatch, awaitAcks: false, options.AckOnPoll,
            channelOf is null ? null : (user, envelope) => channelOf[user.AccountId].TryDecrypt(envelope.Payload));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var reading = recipients.Select(r => reader.RunAsync(r, stop.Token)).ToList();
        // Every recipient's first long-poll is parked before the first message goes out.
        await run.WaitUntilAsync(() => reader.OpenPolls >= recipients.Count, TimeSpan.FromSeconds(10), cancellationToken);

        var results = new List<(Phase Phase, PhaseResult Result)>();
        foreach (var template in phases)
        {
            // A fresh phase so its clock starts now, not when the users were registered.
            var phase = new Phase(template.Name, run.Time, maxSeconds);
            reader.Phase = phase;
            var open = template.Name.Contains("open", StringComparison.Ordinal);
            using var killWindow = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var kill = open && options.KillPid is { } pid ? ProcessKill.AtAsync(pid, options.KillAt, phase, killWindow.Token) : null;
            await using (new ProgressLine(() => Describe(phase, reader), options.Quiet, run.Time))
            {
                var measured = open
                    ? await OpenLoopAsync(run, phase, senders, recipients, channels, cancellationToken)
                    : await ClosedLoopAsync(run, phase, senders, recipients, channels, cancellationToken);
                if (kill is not null)
                {
                    // A kill due after the sending ended does not happen.
                    await killWindow.CancelAsync();
                    await kill;
                }
                // Acknowledgements held for the next poll are confirmed when that poll returns, or when the readers stop.
                await run.WaitUntilAsync(() => phase.Ledger.Outstanding == 0 && phase.Acknowledged + phase.AcknowledgementsHeld >= phase.Ledger.Delivered,
                    options.Grace, cancellationToken);
                var figures = new SortedDictionary<string, double>(StringComparer.Ordinal)
                {
                    ["delivered_msg_per_s"] = phase.Latency.Count / options.Duration.TotalSeconds,
                    ["committed_msg_per_s"] = measured.Committed / options.Duration.TotalSeconds,
                    ["undecryptable"] = reader.Undecryptable,
                };
                if (open)
                {
                    figures["offered_msg_per_s"] = options.Rate;
                }

                if (options.RampUp > TimeSpan.Zero || options.RampDown > TimeSpan.Zero)
                {
                    figures["ramp_up_s"] = options.RampUp.TotalSeconds;
                    figures["ramp_down_s"] = options.RampDown.TotalSeconds;
                }

                var result = BenchRun.Summarize(phase, options.Duration, open ? phase.Latency.Count : measured.Committed,
                    open ? "measured messages delivered" : "durable deposits (200) in the measured window", withLatency: true, figures);
                if (kill is not null)
                {
                    result = result with { Kill = ProcessKill.Judge(options.KillPid!.Value, phase, options.Rate, options.MeasuredUntil) };
                }

                results.Add((phase, result));
            }
        }

        await stop.CancelAsync();
        await Task.WhenAll(reading);
        // Stopping posted the acknowledgements still held; each counts in the phase that received its envelope.
        return [.. results.Select(r => r.Result with { Acknowledged = r.Phase.Acknowledged })];
    }

    private sealed record Measured(long Committed);

    private static async Task<Measured> OpenLoopAsync(BenchRun run, Phase phase, List<VirtualUser> senders, List<VirtualUser> recipients,
        EndToEndChannel[]? channels, CancellationToken cancellationToken)
    {
        var options = run.Options;
        var schedule = new OpenLoopSchedule(options.Rate, options.RampUp, options.Warmup + options.Duration, options.RampDown);
        var sends = new List<Task>((int)Math.Min(schedule.Total, 1_000_000));
        long measuredCommitted = 0;
        long next = 0;
        while (next < schedule.Total)
        {
            var due = schedule.DueBy(phase.Elapsed);
            for (; next < due; next++)
            {
                var index = next;
                var dueAt = schedule.DueAt(index);
                var measured = dueAt >= options.MeasuredFrom && dueAt < options.MeasuredUntil;
                var pair = (int)(index % senders.Count);
                sends.Add(Task.Run(async () =>
                {
                    if (await SendOneAsync(run, phase, senders[pair], recipients[pair], channels?[pair], phase.TimestampAt(dueAt), measured, null, cancellationToken) && measured)
                    {
                        Interlocked.Increment(ref measuredCommitted);
                    }
                }, cancellationToken));
            }

            if (next < schedule.Total)
            {
                // Sleep until the next send is due, at least a millisecond: spinning on Task.Yield would
                // take a core from the server it measures. A send that starts late is still timed from
                // its scheduled moment, so the lateness shows in the latency, not hidden by it.
                var wait = schedule.DueAt(next) - phase.Elapsed;
                await Task.Delay(wait > TimeSpan.FromMilliseconds(1) ? wait : TimeSpan.FromMilliseconds(1), run.Time, cancellationToken);
            }
        }

        await Task.WhenAll(sends);
        return new Measured(measuredCommitted);
    }

    private static async Task<Measured> ClosedLoopAsync(BenchRun run, Phase phase, List<VirtualUser> senders, List<VirtualUser> recipients,
        EndToEndChannel[]? channels, CancellationToken cancellationToken)
    {
        var options = run.Options;
        long measuredCommitted = 0;
        await Task.WhenAll(Enumerable.Range(0, senders.Count).Select(pair => Task.Run(async () =>
        {
            // Pairs join evenly over the ramp-up and leave evenly over the ramp-down, the first to join
            // being the last to leave, so the number in flight rises and falls linearly.
            var start = options.RampUp * pair / senders.Count;
            var stop = options.MeasuredUntil + options.RampDown * (senders.Count - 1 - pair) / senders.Count;
            if (start > phase.Elapsed)
            {
                await Task.Delay(start - phase.Elapsed, run.Time, cancellationToken);
            }

            while (phase.Elapsed < stop && !cancellationToken.IsCancellationRequested)
            {
                var measured = phase.Elapsed >= options.MeasuredFrom && phase.Elapsed < options.MeasuredUntil;
                var receipt = new TaskCompletionSource<Task>();
                if (await SendOneAsync(run, phase, senders[pair], recipients[pair], channels?[pair], run.Time.GetTimestamp(), measured, receipt, cancellationToken))
                {
                    if (measured && phase.Elapsed < options.MeasuredUntil)
                    {
                        Interlocked.Increment(ref measuredCommitted);
                    }

                    // A message that never arrives must not stall the pair forever.
                    await (await receipt.Task).WaitAsync(TimeSpan.FromSeconds(30), run.Time, cancellationToken)
                        .ContinueWith(_ => { }, TaskScheduler.Default);
                }
                else
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(50), run.Time, cancellationToken);
                }
            }
        }, cancellationToken)));
        return new Measured(measuredCommitted);
    }

    private static async Task<bool> SendOneAsync(BenchRun run, Phase phase, VirtualUser sender, VirtualUser recipient, EndToEndChannel? channel,
        long sentAt, bool measured, TaskCompletionSource<Task>? receipt, CancellationToken cancellationToken)
    {
        var id = Guid.NewGuid();
        var payload = run.RandomPayload();
        if (channel is not null)
        {
            payload = channel.Encrypt(payload);
        }

        if (receipt is null)
        {
            phase.Ledger.Sent(id, sentAt, measured);
        }
        else
        {
            receipt.SetResult(phase.Ledger.SentAndAwaited(id, sentAt, measured));
        }

        var depositStarted = run.Time.GetTimestamp();
        try
        {
            if (channel is not null)
            {
                await run.Client.DepositSealedAsync(sender, [new SealedEnvelope(recipient.AccountId, recipient.DeliveryKey!.ToBytes(), id, payload)], cancellationToken);
            }
            else
            {
                await run.Client.DepositAsync(sender, [new OutgoingEnvelope(recipient.AccountId, id, payload)], cancellationToken);
            }
            phase.Ledger.Committed(id);
            phase.AddCommitted(1);
            phase.Timeline.Sent(run.Time.GetTimestamp());
            phase.Answered("deposit", depositStarted, TimeSpan.Zero, succeeded: true);
            return true;
        }
        catch (GatewayRequestException e)
        {
            phase.Ledger.Failed(id);
            phase.Failed(e.Key);
            phase.Answered("deposit", depositStarted, TimeSpan.Zero, succeeded: false);
            return false;
        }
    }

    private static string Describe(Phase phase, MailboxReader reader)
    {
        var now = phase.Time.GetTimestamp();
        var second = Math.Max(0, phase.Timeline.SecondOf(now) - 1);
        var last = phase.Timeline.Points(second + 1) is { Count: > 0 } points ? points[^1] : null;
        return $"{phase.Name}: committed={phase.Committed} delivered={phase.Ledger.Delivered} outstanding={phase.Ledger.Outstanding} " +
            $"errors={phase.Errors.Total} polls={reader.OpenPolls} | last second: {last?.Delivered ?? 0} msg/s p99={last?.P99Ms ?? 0:0.0}ms";
    }
}
