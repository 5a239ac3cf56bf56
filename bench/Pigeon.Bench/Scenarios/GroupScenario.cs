using System.Diagnostics;
using System.Text.Json;
using Pigeon.Api;
using Pigeon.Bench.Api;
using Pigeon.Bench.Reporting;
using Pigeon.Bench.Stats;
using Pigeon.Protocol.Envelope;
using SealedEnvelope = Pigeon.Api.SealedEnvelope;

namespace Pigeon.Bench.Scenarios;

/// <summary>
/// A group conversation as the client makes one (ADR 0004, and ADR 0005 for devices): <c>--members</c>
/// accounts of <c>--devices</c> devices each, of which <c>--senders</c> take turns to send, each from its
/// first device. A group message is one real Double Ratchet message per device of every other member,
/// each device in a session of its own and the envelope sealed to it, all in one sealed deposit (split
/// at <see cref="ApiLimits.MaxDepositBatch"/> envelopes and <see cref="SealedBatchPayloadBytes"/>, never
/// splitting one member's devices, like the client); with more than one device, a copy to each of the
/// sender's own other devices follows in one request on the identified route, as the client's outbox
/// sends them. The server checks every account's devices against its signed list, so a 200 proves the
/// fan-out complete. Every device long-polls and decrypts. The open loop offers <c>--rate</c> group
/// messages per second; latency runs from a message's scheduled start to each device's receipt.
/// Reported besides: the client's encryption time per group message (every envelope of both routes),
/// the requests' size, and their round trips (the server's commit), per route and in total.
/// </summary>
public static class GroupScenario
{
    /// <summary>
    /// The most payload bytes in one sealed deposit: the client's (Pigeon.Messaging's
    /// <c>Outbox.SealedBatchPayloadBytes</c>), which keeps the body well under the gateway's limit.
    /// </summary>
    public const int SealedBatchPayloadBytes = 1024 * 1024;

    /// <summary>Runs the open loop and returns its phase.</summary>
    public static async Task<IReadOnlyList<PhaseResult>> RunAsync(BenchRun run, CancellationToken cancellationToken)
    {
        var options = run.Options;
        if (!options.EndToEnd)
        {
            throw new ArgumentException("the group scenario is end to end: its members need their identities and delivery keys (EndToEnd).");
        }

        var members = await run.CreateUsersAsync(options.Members, cancellationToken, options.Devices);
        var senders = members[..Math.Min(options.Senders, members.Count)];
        // One channel from each sender's first device to every device of every other member and to each of
        // its own other devices, found on receipt by the recipient device and the sending device the envelope proves.
        var fanOuts = senders.Select(s => new FanOut(
            [.. members.Where(m => m != s).SelectMany(m => m.Devices).Select(d => new EndToEndChannel(s, d))],
            [.. s.Devices.Where(d => d != s).Select(d => new EndToEndChannel(s, d))])).ToArray();
        var byRecipient = fanOuts.SelectMany(f => f.ToMembers.Concat(f.ToOwnDevices)).GroupBy(c => c.RecipientAddress)
            .ToDictionary(g => g.Key, g => g.ToDictionary(c => c.SenderAddress));
        var devices = members.SelectMany(m => m.Devices).ToList();

        var maxSeconds = (int)(options.MeasuredUntil + options.Grace).TotalSeconds + 30;
        var phase = new Phase(options.Devices > 1
            ? $"group of {members.Count} × {options.Devices} devices, {options.Rate:0.#} msg/s"
            : $"group of {members.Count}, {options.Rate:0.#} msg/s", run.Time, maxSeconds);
        var reader = new MailboxReader(run.Client, phase, Math.Min(options.WaitSeconds, ApiLimits.MaxWaitSeconds), ApiLimits.MaxReceiveBatch, awaitAcks: false,
            options.AckOnPoll, (device, envelope) => byRecipient.TryGetValue(new DeviceAddress(device.AccountId, device.DeviceId), out var bySender)
                && EndToEndChannel.TryDecryptAny(bySender, envelope.Payload));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var reading = devices.Select(d => reader.RunAsync(d, stop.Token)).ToList();
        await run.WaitUntilAsync(() => reader.OpenPolls >= devices.Count, TimeSpan.FromSeconds(30), cancellationToken);

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
                    sends.Add(Task.Run(() => SendOneAsync(run, phase, fanOuts[sender], phase.TimestampAt(dueAt), measured, costs, cancellationToken), cancellationToken));
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
            ["request_bytes"] = costs.SealedBytes + costs.OwnBytes,
            ["server_commit_ms_p50"] = costs.CommitMs.PercentileMs(50),
            ["server_commit_ms_p99"] = costs.CommitMs.PercentileMs(99),
        };
        if (options.Devices > 1)
        {
            figures["devices"] = options.Devices;
            figures["envelopes_sealed"] = fanOuts[0].ToMembers.Length;
            figures["envelopes_own_devices"] = fanOuts[0].ToOwnDevices.Length;
            figures["requests_sealed"] = costs.SealedRequests;
            figures["requests_own_devices"] = costs.OwnRequests;
            figures["request_bytes_sealed"] = costs.SealedBytes;
            figures["request_bytes_own_devices"] = costs.OwnBytes;
            figures["server_commit_sealed_ms_p50"] = costs.SealedCommitMs.PercentileMs(50);
            figures["server_commit_sealed_ms_p99"] = costs.SealedCommitMs.PercentileMs(99);
            figures["server_commit_own_devices_ms_p50"] = costs.OwnCommitMs.PercentileMs(50);
            figures["server_commit_own_devices_ms_p99"] = costs.OwnCommitMs.PercentileMs(99);
        }

        var result = BenchRun.Summarize(phase, options.Duration, phase.Latency.Count,
            options.Devices > 1 ? "device receipts in the measured window" : "member receipts in the measured window", withLatency: true, figures);
        await stop.CancelAsync();
        await Task.WhenAll(reading);
        return [result with { Acknowledged = phase.Acknowledged }];
    }

    /// <summary>
    /// The client's sealed batches (Pigeon.Messaging's <c>Outbox.SealedBatches</c>): envelopes in order, as
    /// many per request as <see cref="ApiLimits.MaxDepositBatch"/> and <see cref="SealedBatchPayloadBytes"/>
    /// allow, never splitting one account's devices, which the server takes together or not at all.
    /// </summary>
    internal static List<List<SealedEnvelope>> SealedBatches(IEnumerable<SealedEnvelope> envelopes)
    {
        var batches = new List<List<SealedEnvelope>>();
        var batch = new List<SealedEnvelope>();
        var bytes = 0;
        foreach (var unit in envelopes.GroupBy(e => e.Recipient, StringComparer.Ordinal))
        {
            var unitCount = unit.Count();
            var unitBytes = unit.Sum(e => e.Payload.Length);
            if (batch.Count > 0 && (batch.Count + unitCount > ApiLimits.MaxDepositBatch || bytes + unitBytes > SealedBatchPayloadBytes))
            {
                batches.Add(batch);
                batch = [];
                bytes = 0;
            }

            batch.AddRange(unit);
            bytes += unitBytes;
        }

        if (batch.Count > 0)
        {
            batches.Add(batch);
        }

        return batches;
    }

    // One group message: encrypted for every device of every other member and deposited sealed in as few
    // requests as the limits allow (one up to 256 members of one device), then for the sender's own other
    // devices in one identified request; each envelope accounted for by its own id.
    private static async Task SendOneAsync(BenchRun run, Phase phase, FanOut fanOut, long sentAt, bool measured, GroupCosts costs,
        CancellationToken cancellationToken)
    {
        var plaintext = run.RandomPayload();
        var encrypting = Stopwatch.StartNew();
        // An id per envelope, where the client gives one message's envelopes to one account's devices the
        // same id: the server takes both (ids are unique per device's mailbox), and the ledger follows each device.
        var toMembers = fanOut.ToMembers.Select(c => new SealedEnvelope(c.Recipient.AccountId, c.Recipient.DeliveryKey!.ToBytes(), Guid.NewGuid(), c.Encrypt(plaintext),
            DeviceId: c.Recipient.DeviceId)).ToList();
        var toOwnDevices = fanOut.ToOwnDevices.Select(c => new OutgoingEnvelope(c.Recipient.AccountId, Guid.NewGuid(), c.Encrypt(plaintext),
            DeviceId: c.Recipient.DeviceId)).ToList();
        encrypting.Stop();
        foreach (var id in toMembers.Select(e => e.MessageId).Concat(toOwnDevices.Select(e => e.MessageId)))
        {
            phase.Ledger.Sent(id, sentAt, measured);
        }

        var sender = fanOut.Sender;
        var batches = SealedBatches(toMembers);
        var committing = Stopwatch.StartNew();
        var ok = true;
        foreach (var batch in batches)
        {
            ok &= await DepositAsync(run, phase, [.. batch.Select(e => e.MessageId)], () => run.Client.DepositSealedAsync(sender, batch, cancellationToken));
        }

        var sealedCommit = committing.Elapsed;
        if (toOwnDevices.Count > 0)
        {
            ok &= await DepositAsync(run, phase, [.. toOwnDevices.Select(e => e.MessageId)], () => run.Client.DepositAsync(sender, toOwnDevices, cancellationToken));
        }

        committing.Stop();
        if (ok && measured)
        {
            // Every message of a run has the same size: the requests are serialized again only for the first.
            var sizes = costs.SealedBytes > 0 ? null : new RequestSizes(
                batches.Sum(b => JsonSerializer.SerializeToUtf8Bytes(new SealedDepositRequest(b), PigeonJson.TypeInfo<SealedDepositRequest>()).Length),
                toOwnDevices.Count == 0 ? 0 : JsonSerializer.SerializeToUtf8Bytes(new DepositRequest(toOwnDevices), PigeonJson.TypeInfo<DepositRequest>()).Length,
                batches.Count, toOwnDevices.Count == 0 ? 0 : 1);
            costs.Add(encrypting.Elapsed, sealedCommit, toOwnDevices.Count == 0 ? null : committing.Elapsed - sealedCommit, sizes);
        }
    }

    // One deposit request, its envelopes accounted for in the ledger; true when it was answered with a 200.
    private static async Task<bool> DepositAsync(BenchRun run, Phase phase, IReadOnlyList<Guid> ids, Func<Task<DepositResponse>> deposit)
    {
        var depositStarted = run.Time.GetTimestamp();
        try
        {
            await deposit();
            foreach (var id in ids)
            {
                phase.Ledger.Committed(id);
            }

            phase.AddCommitted(ids.Count);
            phase.Timeline.Sent(run.Time.GetTimestamp());
            phase.Answered("deposit", depositStarted, TimeSpan.Zero, succeeded: true);
            return true;
        }
        catch (GatewayRequestException e)
        {
            foreach (var id in ids)
            {
                phase.Ledger.Failed(id);
            }

            phase.Failed(e.Key);
            phase.Answered("deposit", depositStarted, TimeSpan.Zero, succeeded: false);
            return false;
        }
    }

    // A sender's first device and its channels: to every device of every other member (sealed) and to its own other devices (identified).
    private sealed record FanOut(EndToEndChannel[] ToMembers, EndToEndChannel[] ToOwnDevices)
    {
        public VirtualUser Sender => (ToMembers.Length > 0 ? ToMembers[0] : ToOwnDevices[0]).Sender;
    }

    private sealed record RequestSizes(long SealedBytes, long OwnBytes, int SealedRequests, int OwnRequests);

    private sealed class GroupCosts
    {
        private readonly Lock _lock = new();

        public LatencyRecorder EncryptMs { get; } = new();

        public LatencyRecorder CommitMs { get; } = new();

        public LatencyRecorder SealedCommitMs { get; } = new();

        public LatencyRecorder OwnCommitMs { get; } = new();

        public long MeasuredMessages { get; private set; }

        public double SealedBytes { get; private set; }

        public double OwnBytes { get; private set; }

        public int SealedRequests { get; private set; }

        public int OwnRequests { get; private set; }

        public void Add(TimeSpan encrypt, TimeSpan sealedCommit, TimeSpan? ownCommit, RequestSizes? sizes)
        {
            lock (_lock)
            {
                EncryptMs.Record(encrypt);
                SealedCommitMs.Record(sealedCommit);
                CommitMs.Record(sealedCommit + (ownCommit ?? TimeSpan.Zero));
                if (ownCommit is { } own)
                {
                    OwnCommitMs.Record(own);
                }

                MeasuredMessages++;
                if (sizes is not null)
                {
                    (SealedBytes, OwnBytes, SealedRequests, OwnRequests) = (sizes.SealedBytes, sizes.OwnBytes, sizes.SealedRequests, sizes.OwnRequests);
                }
            }
        }
    }
}
