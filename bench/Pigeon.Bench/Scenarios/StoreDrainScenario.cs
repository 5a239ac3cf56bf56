using Npgsql;
using Pigeon.Api;
using Pigeon.Bench.Api;
using Pigeon.Bench.Reporting;
using Pigeon.Bench.Stats;

namespace Pigeon.Bench.Scenarios;

/// <summary>
/// (a) Store: one sender deposits the messages for offline recipients, in batches, and the figure is
/// the time until every one is committed. (b) Drain: then the recipients come online and read and
/// acknowledge everything; the figure is the time until all are received and acknowledged (and, with a
/// database, until their rows are gone).
/// </summary>
public static class StoreDrainScenario
{
    /// <summary>Runs the store, and the drain when the scenario is <c>drain</c>.</summary>
    public static async Task<IReadOnlyList<PhaseResult>> RunAsync(BenchRun run, CancellationToken cancellationToken)
    {
        var options = run.Options;
        var users = await run.CreateUsersAsync(options.Users + 1, cancellationToken);
        var sender = users[0];
        var recipients = users[1..];
        var maxSeconds = 3_600;

        var store = new Phase($"store {options.Messages} × {options.PayloadBytes} B for {recipients.Count} offline users", run.Time, maxSeconds, readsMessages: false);
        TimeSpan stored;
        await using (new ProgressLine(() => $"store: committed={store.Committed}/{options.Messages} errors={store.Errors.Total}", options.Quiet, run.Time))
        {
            stored = await StoreAsync(run, store, sender, recipients, cancellationToken);
        }

        var results = new List<PhaseResult>
        {
            BenchRun.Summarize(store, stored, store.Committed, "envelopes committed", withLatency: false,
                new SortedDictionary<string, double>(StringComparer.Ordinal) { ["batch_envelopes"] = options.Batch, ["deposits_in_flight"] = options.Concurrency }),
        };
        if (options.Scenario != "drain")
        {
            return results;
        }

        // The drain accounts for exactly the envelopes the store committed.
        var drain = new Phase($"drain by {recipients.Count} users with acks", run.Time, maxSeconds);
        foreach (var (id, _) in store.CommittedIds)
        {
            drain.Ledger.Sent(id, drain.StartTimestamp, measured: false);
            drain.Ledger.Committed(id);
        }

        var expected = store.CommittedIds.Count;
        drain.AddCommitted(expected);
        var reader = new MailboxReader(run.Client, drain, waitSeconds: 1, max: ApiLimits.MaxReceiveBatch, awaitAcks: true, options.AckOnPoll);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        TimeSpan drained;
        double? emptyAfter = null;
        await using (new ProgressLine(() => $"drain: received={drain.Ledger.Delivered}/{expected} acked={drain.Acknowledged} errors={drain.Errors.Total}", options.Quiet, run.Time))
        {
            var reading = recipients.Select(r => reader.RunAsync(r, stop.Token)).ToList();
            var complete = await run.WaitUntilAsync(() => drain.Ledger.Delivered >= expected && drain.Acknowledged >= expected,
                TimeSpan.FromSeconds(Math.Max(60, expected / 100.0)), cancellationToken);
            drained = drain.Elapsed;
            await stop.CancelAsync();
            await Task.WhenAll(reading);
            if (complete && options.Database is { } database)
            {
                emptyAfter = await WaitForEmptyTableAsync(run, database, [.. recipients.Select(r => r.AccountId)], drain, cancellationToken);
            }
        }

        var figures = new SortedDictionary<string, double>(StringComparer.Ordinal);
        if (emptyAfter is { } seconds)
        {
            figures["envelope_rows_gone_after_s"] = seconds;
        }

        results.Add(BenchRun.Summarize(drain, drained, drain.Acknowledged, "envelopes received and acknowledged", withLatency: false, figures));
        return results;
    }

    private static async Task<TimeSpan> StoreAsync(BenchRun run, Phase store, VirtualUser sender, List<VirtualUser> recipients, CancellationToken cancellationToken)
    {
        var options = run.Options;
        var batches = (options.Messages + options.Batch - 1) / options.Batch;
        await Parallel.ForAsync(0, batches, new ParallelOptions { MaxDegreeOfParallelism = options.Concurrency, CancellationToken = cancellationToken },
            async (batch, ct) =>
            {
                var first = batch * options.Batch;
                var envelopes = Enumerable.Range(first, Math.Min(options.Batch, options.Messages - first))
                    .Select(i => new OutgoingEnvelope(recipients[i % recipients.Count].AccountId, Guid.NewGuid(), run.RandomPayload()))
                    .ToList();
                foreach (var envelope in envelopes)
                {
                    store.Ledger.Sent(envelope.MessageId, store.StartTimestamp, measured: false);
                }

                // A failed batch is retried with the same ids, which the gateway makes idempotent.
                for (var attempt = 1; attempt <= 5; attempt++)
                {
                    try
                    {
                        await run.Client.DepositAsync(sender, envelopes, ct);
                        foreach (var envelope in envelopes)
                        {
                            store.Ledger.Committed(envelope.MessageId);
                            store.CommittedIds.TryAdd(envelope.MessageId, 0);
                        }

                        store.AddCommitted(envelopes.Count);
                        store.Timeline.Sent(run.Time.GetTimestamp(), envelopes.Count);
                        return;
                    }
                    catch (GatewayRequestException e)
                    {
                        store.Failed(e.Key);
                        await Task.Delay(e.RetryAfter ?? TimeSpan.FromMilliseconds(100 * attempt), run.Time, ct);
                    }
                }

                foreach (var envelope in envelopes)
                {
                    store.Ledger.Failed(envelope.MessageId);
                }
            });
        return store.Elapsed;
    }

    private static async Task<double?> WaitForEmptyTableAsync(BenchRun run, string connectionString, string[] mailboxes, Phase drain, CancellationToken cancellationToken)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        for (var attempt = 0; attempt < 600; attempt++)
        {
            await using var command = dataSource.CreateCommand("SELECT count(*) FROM pigeon.envelopes WHERE mailbox_id = ANY(@mailboxes)");
            command.Parameters.AddWithValue("mailboxes", mailboxes);
            if ((long)(await command.ExecuteScalarAsync(cancellationToken))! == 0)
            {
                return drain.Elapsed.TotalSeconds;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), run.Time, cancellationToken);
        }

        return null;
    }
}
