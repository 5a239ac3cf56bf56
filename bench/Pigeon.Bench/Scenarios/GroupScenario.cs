using System.Diagnostics;
using System.Text.Json;
using Pigeon.Api;
using Pigeon.Bench.Api;
using Pigeon.Bench.Reporting;
using Pigeon.Bench.Stats;

namespace Pigeon.Bench.Scenarios;

/// <summary>
/// A group conversation as the client makes one (ADR 0004): <c>--members</c> accounts, of which
/// <c>--senders</c> take turns to send; each group message is one real Double Ratchet message per
/// other member, sealed to it, and all of them go in one sealed deposit (split at
/// <see cref="ApiLimits.MaxDepositBatch"/> like the client). Every member long-polls and decrypts.
/// The open loop offers <c>--rate</c> group messages per second; latency runs from a message's
/// scheduled start to each member's receipt. Reported besides: the client's encryption time per group
/// message, the deposit request's size, and the deposit's round trip (the server's commit).
/// </summary>
public static class GroupScenario
{
    /// <summary>Runs the open loop and returns its phase.</summary>
    public static async Task<IReadOnlyList<PhaseResult>> RunAsync(BenchRun run, CancellationToken cancellationToken)
    {
        var options = run.Options;
        if (!options.EndToEnd)
        {
            throw new ArgumentException("the group scenario is end to end: its members need their identities and delivery keys (EndToEnd).");
        }

        var members = await run.CreateUsersAsync(options.Members, cancellationToken);
        var senders = members[..Math.Min(options.Senders, members.Count)];
        // One channel per sender and other member, found on receipt by the sender the envelope proves.
        var channels = senders.Select(s => members.Where(m => m != s).Select(m => new EndToEndChannel(s, m)).ToArray()).ToArray();
        var byRecipient = channels.SelectMany(c => c).GroupBy(c => c.Recipient.AccountId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.ToDictionary(c => c.Sender.AccountId, StringComparer.Ordinal), StringComparer.Ordinal);

        var maxSeconds = (int)(options.MeasuredUntil + options.Grace).TotalSeconds + 30;
        var phase = new Phase($"group of {members.Count}, {options.Rate:0.#} msg/s", run.Time, maxSeconds);
        var reader = new MailboxReader(run.Client, phase, Math.Min(options.WaitSeconds, ApiLimits.MaxWaitSeconds), ApiLimits.MaxReceiveBatch, awaitAcks: false,
            options.AckOnPoll, (user, envelope) => byRecipient.TryGetValue(user.AccountId, out var bySender) && EndToEndChannel.TryDecryptAny(bySender, envelope.Payload));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var reading = members.Select(m => reader.RunAsync(m, stop.Token)).ToList();
        await run.WaitUntilAsync(() => reader.OpenPolls >= members.Count, TimeSpan.FromSeconds(30), cancellationToken);

        var costs = new GroupCosts();
        await using (new ProgressLine(() => $"{phase.Name}: committed={phase.Committed} delivered={phase.Ledger.Delivered} outstanding={phase.Ledger.Outstanding}",
            options.Quiet, run.Time))
        {
            var schedule = new OpenLoopSchedule(options.Rate, TimeSpan.Zero, options.Warmup + options.Duration, TimeSpan.Zero);
            var sends = new List<Task>();
            long next = 0;
            while (next < schedule.Total)
            {
                for (var due = schedule.DueBy(phase.Elapsed); next < due; next++)
                {
                    var dueAt = schedule.DueAt(next);
                    var measured = dueAt >= options.MeasuredFrom && dueAt < options.MeasuredUntil;
                    var sender = (int)(next % senders.Count);
                    sends.Add(Task.Run(() => SendOneAsync(run, phase, channels[sender], phase.TimestampAt(dueAt), measured, costs, cancellationToken), cancellationToken));
                }

                if (next < schedule.Total)
                {
                    var wait = schedule.DueAt(next) - phase.Elapsed;
                    await Task.Delay(wait > TimeSpan.FromMilliseconds(1) ? wait : TimeSpan.FromMilliseconds(1), run.Time, cancellationToken);
                }
            }

            await Task.WhenAll(sends);
            await run.WaitUntilAsync(() => phase.Ledger.Outstanding == 0 && phase.Acknowledged + phase.AcknowledgementsHeld >= phase.Ledger.Delivered,
                options.Grace, cancellationToken);
        }

        var figures = new SortedDictionary<string, double>(StringComparer.Ordinal)
        {
            ["members"] = members.Count,
            ["offered_group_msg_per_s"] = options.Rate,
            ["committed_group_msg_per_s"] = costs.MeasuredMessages / options.Duration.TotalSeconds,
            ["delivered_envelopes_per_s"] = phase.Latency.Count / options.Duration.TotalSeconds,
            ["undecryptable"] = reader.Undecryptable,
            ["client_encrypt_ms_p50"] = costs.EncryptMs.PercentileMs(50),
            ["client_encrypt_ms_p99"] = costs.EncryptMs.PercentileMs(99),
            ["request_bytes"] = costs.RequestBytes,
            ["server_commit_ms_p50"] = costs.CommitMs.PercentileMs(50),
            ["server_commit_ms_p99"] = costs.CommitMs.PercentileMs(99),
        };
        var result = BenchRun.Summarize(phase, options.Duration, phase.Latency.Count, "member receipts in the measured window", withLatency: true, figures);
        await stop.CancelAsync();
        await Task.WhenAll(reading);
        return [result with { Acknowledged = phase.Acknowledged }];
    }

    // One group message: encrypted for every other member, deposited sealed in as few requests as the
    // batch limit allows (one up to 256 members), each envelope accounted for by its own id.
    private static async Task SendOneAsync(BenchRun run, Phase phase, EndToEndChannel[] toMembers, long sentAt, bool measured, GroupCosts costs,
        CancellationToken cancellationToken)
    {
        var plaintext = run.RandomPayload();
        var encrypting = Stopwatch.StartNew();
        var envelopes = toMembers.Select(c => new SealedEnvelope(c.Recipient.AccountId, c.Recipient.DeliveryKey!.ToBytes(), Guid.NewGuid(), c.Encrypt(plaintext))).ToList();
        encrypting.Stop();
        foreach (var envelope in envelopes)
        {
            phase.Ledger.Sent(envelope.MessageId, sentAt, measured);
        }

        var committing = Stopwatch.StartNew();
        var ok = true;
        foreach (var batch in envelopes.Chunk(ApiLimits.MaxDepositBatch))
        {
            var depositStarted = run.Time.GetTimestamp();
            try
            {
                await run.Client.DepositSealedAsync(toMembers[0].Sender, batch, cancellationToken);
                foreach (var envelope in batch)
                {
                    phase.Ledger.Committed(envelope.MessageId);
                }

                phase.AddCommitted(batch.Length);
                phase.Timeline.Sent(run.Time.GetTimestamp());
                phase.Answered("deposit", depositStarted, TimeSpan.Zero, succeeded: true);
            }
            catch (GatewayRequestException e)
            {
                ok = false;
                foreach (var envelope in batch)
                {
                    phase.Ledger.Failed(envelope.MessageId);
                }

                phase.Failed(e.Key);
                phase.Answered("deposit", depositStarted, TimeSpan.Zero, succeeded: false);
            }
        }

        committing.Stop();
        if (ok && measured)
        {
            // Every message of a run has the same size: the request is serialized again only for the first.
            costs.Add(encrypting.Elapsed, committing.Elapsed,
                costs.RequestBytes > 0 ? null : JsonSerializer.SerializeToUtf8Bytes(new SealedDepositRequest(envelopes), PigeonJson.TypeInfo<SealedDepositRequest>()).Length);
        }
    }

    private sealed class GroupCosts
    {
        private readonly Lock _lock = new();

        public LatencyRecorder EncryptMs { get; } = new();

        public LatencyRecorder CommitMs { get; } = new();

        public long MeasuredMessages { get; private set; }

        public double RequestBytes { get; private set; }

        public void Add(TimeSpan encrypt, TimeSpan commit, int? requestBytes)
        {
            lock (_lock)
            {
                EncryptMs.Record(encrypt);
                CommitMs.Record(commit);
                MeasuredMessages++;
                RequestBytes = requestBytes ?? RequestBytes;
            }
        }
    }
}
