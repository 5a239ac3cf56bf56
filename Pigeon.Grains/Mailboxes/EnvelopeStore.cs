using Npgsql;
using Pigeon.Grains.Abstractions.Mailboxes;

namespace Pigeon.Grains.Mailboxes;

/// <summary>An envelope on its way into the table.</summary>
internal readonly record struct EnvelopeToStore(string MailboxId, Guid MessageId, byte[] Payload, TimeSpan Lifetime);

/// <summary>The outcome of storing one envelope: its receipt, and whether this call inserted it.</summary>
internal readonly record struct StoredEnvelope(DepositReceipt Receipt, bool Inserted);

/// <summary>Message ids of one mailbox to acknowledge (delete).</summary>
internal sealed record EnvelopesToAcknowledge(string MailboxId, IReadOnlyList<Guid> MessageIds);

/// <summary>What one acknowledgement deleted.</summary>
internal readonly record struct AcknowledgedEnvelopes(long Count, long Bytes);

/// <summary>The outcome of one commit: a result per deposit and per acknowledgement, in input order.</summary>
internal sealed record CommitOutcome(StoredEnvelope[] Stored, AcknowledgedEnvelopes[] Acknowledged);

/// <summary>What a mailbox holds, as counted in the table.</summary>
internal readonly record struct MailboxTotals(long Envelopes, long Bytes, long LastSequence);

/// <summary>
/// The envelope rows of every mailbox, in Pigeon's own tables (sql/0003). All times come from the
/// caller so that expiry follows the grains' clock.
/// </summary>
internal sealed class EnvelopeStore(NpgsqlDataSource dataSource)
{
    // One statement stores a whole batch. Each input first looks for an earlier envelope with its id,
    // stored or acknowledged: one that has one is reported with that first receipt and not inserted.
    // The statement's snapshot predates its own inserts, so the lookup sees only earlier rows. It is
    // LATERAL and fenced by LIMIT so that each input probes the two unique indexes: a join the
    // planner could reorder would, with the queue analysed as nearly empty, scan a whole index of
    // dead entries instead. ON CONFLICT covers the same id twice in one batch, or a concurrent insert.
    internal const string InsertBatchSql = """
        WITH input AS (
            SELECT i.mailbox_id, i.message_id, i.payload, i.expires_at, i.ord,
                   earlier.seq AS earlier_seq, earlier.deposited_at AS earlier_deposited_at
            FROM unnest(@mailbox_ids::text[], @message_ids::uuid[], @payloads::bytea[], @expires_ats::timestamptz[])
                 WITH ORDINALITY AS i(mailbox_id, message_id, payload, expires_at, ord)
            LEFT JOIN LATERAL (
                SELECT e.seq, e.deposited_at FROM pigeon.envelopes e
                WHERE e.mailbox_id = i.mailbox_id AND e.message_id = i.message_id
                UNION ALL
                SELECT a.seq, a.deposited_at FROM pigeon.acknowledged_envelopes a
                WHERE a.mailbox_id = i.mailbox_id AND a.message_id = i.message_id
                LIMIT 1
            ) earlier ON true
        ),
        inserted AS (
            INSERT INTO pigeon.envelopes (mailbox_id, message_id, payload, size_bytes, deposited_at, expires_at)
            SELECT i.mailbox_id, i.message_id, i.payload, octet_length(i.payload), @now, i.expires_at
            FROM input i
            WHERE i.earlier_seq IS NULL
            ORDER BY i.ord
            ON CONFLICT (mailbox_id, message_id) DO NOTHING
            RETURNING mailbox_id, message_id, seq, deposited_at
        )
        SELECT mailbox_id, message_id, seq, deposited_at, true FROM inserted
        UNION ALL
        SELECT mailbox_id, message_id, earlier_seq, earlier_deposited_at, false FROM input WHERE earlier_seq IS NOT NULL
        """;

    private const string FindSql = """
        SELECT seq, deposited_at FROM pigeon.envelopes WHERE mailbox_id = @mailbox_id AND message_id = @message_id
        UNION ALL
        SELECT seq, deposited_at FROM pigeon.acknowledged_envelopes WHERE mailbox_id = @mailbox_id AND message_id = @message_id
        LIMIT 1
        """;

    private const string ReadSql = """
        SELECT message_id, seq, payload, deposited_at
        FROM pigeon.envelopes
        WHERE mailbox_id = @mailbox_id AND seq > @after AND expires_at > @now
        ORDER BY seq
        LIMIT @limit
        """;

    // Acknowledgements of many mailboxes in one statement. Each deleted row's id is remembered so a
    // sender's later retry is recognised; the deleted rows come back so the caller can credit each
    // acknowledgement with what it removed. The rows are found by a fenced LATERAL probe of the
    // unique index per input and deleted by their ctid (rows are never updated, so it is stable
    // within the statement): a DELETE ... USING join could be reordered into a whole-index scan.
    internal const string AcknowledgeBatchSql = """
        WITH input AS (
            SELECT DISTINCT i.mailbox_id, i.message_id
            FROM unnest(@ack_mailbox_ids::text[], @ack_message_ids::uuid[]) AS i(mailbox_id, message_id)
        ),
        gone AS (
            DELETE FROM pigeon.envelopes e
            WHERE e.ctid = ANY (ARRAY(
                SELECT found.ctid
                FROM input i
                CROSS JOIN LATERAL (
                    SELECT x.ctid FROM pigeon.envelopes x
                    WHERE x.mailbox_id = i.mailbox_id AND x.message_id = i.message_id
                    LIMIT 1
                ) found))
            RETURNING e.mailbox_id, e.message_id, e.seq, e.deposited_at, e.size_bytes
        ),
        remembered AS (
            INSERT INTO pigeon.acknowledged_envelopes (mailbox_id, message_id, seq, deposited_at, acknowledged_at)
            SELECT mailbox_id, message_id, seq, deposited_at, @now FROM gone
            ON CONFLICT (mailbox_id, message_id) DO NOTHING
        )
        SELECT mailbox_id, message_id, size_bytes FROM gone
        """;

    private const string PurgeExpiredSql = """
        WITH gone AS (
            DELETE FROM pigeon.envelopes WHERE mailbox_id = @mailbox_id AND expires_at <= @now RETURNING size_bytes
        )
        SELECT count(*), coalesce(sum(size_bytes), 0) FROM gone
        """;

    private const string PurgeMailboxSql = """
        WITH gone AS (
            DELETE FROM pigeon.envelopes WHERE mailbox_id = @mailbox_id RETURNING size_bytes
        ),
        forgotten AS (
            DELETE FROM pigeon.acknowledged_envelopes WHERE mailbox_id = @mailbox_id
        )
        SELECT count(*), coalesce(sum(size_bytes), 0) FROM gone
        """;

    private const string TotalsSql = """
        SELECT count(*), coalesce(sum(size_bytes), 0), coalesce(max(seq), 0)
        FROM pigeon.envelopes WHERE mailbox_id = @mailbox_id AND expires_at > @now
        """;

    private const string SweepExpiredSql = """
        DELETE FROM pigeon.envelopes
        WHERE ctid = ANY(ARRAY(SELECT ctid FROM pigeon.envelopes WHERE expires_at <= @now LIMIT @limit))
        """;

    private const string SweepAcknowledgedSql = """
        DELETE FROM pigeon.acknowledged_envelopes
        WHERE ctid = ANY(ARRAY(SELECT ctid FROM pigeon.acknowledged_envelopes WHERE acknowledged_at <= @cutoff LIMIT @limit))
        """;

    /// <summary>
    /// Applies acknowledgements and stores envelopes, of any mailboxes, in one transaction and one
    /// round trip. Acknowledgements go first, so a retried deposit of an id acknowledged in the same
    /// commit is recognised. Results come back one per input, in input order.
    /// </summary>
    public async Task<CommitOutcome> CommitAsync(
        IReadOnlyList<EnvelopesToAcknowledge> acks, IReadOnlyList<EnvelopeToStore> deposits,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var batch = dataSource.CreateBatch();
        if (acks.Count > 0)
        {
            batch.BatchCommands.Add(AcknowledgeCommand(acks, now));
        }

        if (deposits.Count > 0)
        {
            batch.BatchCommands.Add(InsertCommand(deposits, now));
        }

        if (batch.BatchCommands.Count == 0)
        {
            return new CommitOutcome([], []);
        }

        // A batch of several statements runs as one implicit transaction: all commit or none.
        var removed = new Dictionary<(string, Guid), int>();
        var found = new Dictionary<(string, Guid), StoredEnvelope>(deposits.Count);
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            if (acks.Count > 0)
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    removed[(reader.GetString(0), reader.GetGuid(1))] = reader.GetInt32(2);
                }

                await reader.NextResultAsync(cancellationToken);
            }

            if (deposits.Count > 0)
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    var key = (reader.GetString(0), reader.GetGuid(1));
                    var stored = new StoredEnvelope(
                        new DepositReceipt(key.Item2, reader.GetInt64(2), reader.GetFieldValue<DateTimeOffset>(3)),
                        reader.GetBoolean(4));
                    // A row inserted now wins over nothing; an earlier row is reported as it was.
                    found.TryAdd(key, stored);
                }
            }
        }

        return new CommitOutcome(await ReceiptsInOrderAsync(deposits, found, cancellationToken), CreditInOrder(acks, removed));
    }

    private static AcknowledgedEnvelopes[] CreditInOrder(
        IReadOnlyList<EnvelopesToAcknowledge> acks, Dictionary<(string, Guid), int> removed)
    {
        // Two acknowledgements of one id in a commit: the first is credited with the deletion.
        var credited = new AcknowledgedEnvelopes[acks.Count];
        for (var i = 0; i < acks.Count; i++)
        {
            var (count, bytes) = (0L, 0L);
            foreach (var messageId in acks[i].MessageIds)
            {
                if (removed.Remove((acks[i].MailboxId, messageId), out var size))
                {
                    count++;
                    bytes += size;
                }
            }

            credited[i] = new AcknowledgedEnvelopes(count, bytes);
        }

        return credited;
    }

    private async Task<StoredEnvelope[]> ReceiptsInOrderAsync(
        IReadOnlyList<EnvelopeToStore> deposits, Dictionary<(string, Guid), StoredEnvelope> found, CancellationToken cancellationToken)
    {
        var results = new StoredEnvelope[deposits.Count];
        for (var i = 0; i < deposits.Count; i++)
        {
            var key = (deposits[i].MailboxId, deposits[i].MessageId);
            if (found.TryGetValue(key, out var stored))
            {
                results[i] = stored;
                // The same id twice in one batch: only the first is the insert.
                found[key] = stored with { Inserted = false };
                continue;
            }

            // Another transaction inserted the same id concurrently and committed after our snapshot.
            var receipt = await FindAsync(key.MailboxId, key.MessageId, cancellationToken)
                ?? throw new InvalidOperationException("An envelope was neither inserted nor found.");
            results[i] = new StoredEnvelope(receipt, Inserted: false);
        }

        return results;
    }

    private static NpgsqlBatchCommand AcknowledgeCommand(IReadOnlyList<EnvelopesToAcknowledge> acks, DateTimeOffset now)
    {
        var mailboxIds = new List<string>();
        var messageIds = new List<Guid>();
        foreach (var ack in acks)
        {
            foreach (var messageId in ack.MessageIds)
            {
                mailboxIds.Add(ack.MailboxId);
                messageIds.Add(messageId);
            }
        }

        var command = new NpgsqlBatchCommand(AcknowledgeBatchSql);
        command.Parameters.Add(new NpgsqlParameter<string[]>("ack_mailbox_ids", [.. mailboxIds]));
        command.Parameters.Add(new NpgsqlParameter<Guid[]>("ack_message_ids", [.. messageIds]));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("now", now));
        return command;
    }

    private static NpgsqlBatchCommand InsertCommand(IReadOnlyList<EnvelopeToStore> deposits, DateTimeOffset now)
    {
        var mailboxIds = new string[deposits.Count];
        var messageIds = new Guid[deposits.Count];
        var payloads = new byte[deposits.Count][];
        var expiries = new DateTimeOffset[deposits.Count];
        for (var i = 0; i < deposits.Count; i++)
        {
            (mailboxIds[i], messageIds[i], payloads[i]) = (deposits[i].MailboxId, deposits[i].MessageId, deposits[i].Payload);
            expiries[i] = now + deposits[i].Lifetime;
        }

        var command = new NpgsqlBatchCommand(InsertBatchSql);
        command.Parameters.Add(new NpgsqlParameter<string[]>("mailbox_ids", mailboxIds));
        command.Parameters.Add(new NpgsqlParameter<Guid[]>("message_ids", messageIds));
        command.Parameters.Add(new NpgsqlParameter<byte[][]>("payloads", payloads));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("now", now));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]>("expires_ats", expiries));
        return command;
    }

    /// <summary>The receipt of an envelope stored or acknowledged before, if any.</summary>
    public async Task<DepositReceipt?> FindAsync(string mailboxId, Guid messageId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(FindSql);
        command.Parameters.Add(new NpgsqlParameter<string>("mailbox_id", mailboxId));
        command.Parameters.Add(new NpgsqlParameter<Guid>("message_id", messageId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new DepositReceipt(messageId, reader.GetInt64(0), reader.GetFieldValue<DateTimeOffset>(1))
            : null;
    }

    /// <summary>Unexpired envelopes after a sequence number, oldest first.</summary>
    public async Task<List<Envelope>> ReadAsync(
        string mailboxId, long after, int limit, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(ReadSql);
        command.Parameters.Add(new NpgsqlParameter<string>("mailbox_id", mailboxId));
        command.Parameters.Add(new NpgsqlParameter<long>("after", after));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("now", now));
        command.Parameters.Add(new NpgsqlParameter<int>("limit", limit));
        var envelopes = new List<Envelope>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            envelopes.Add(new Envelope(
                reader.GetGuid(0), reader.GetInt64(1), reader.GetFieldValue<byte[]>(2), reader.GetFieldValue<DateTimeOffset>(3)));
        }

        return envelopes;
    }

    /// <summary>Deletes one mailbox's expired envelopes; returns how many and how many bytes.</summary>
    public Task<(long Count, long Bytes)> PurgeExpiredAsync(string mailboxId, DateTimeOffset now, CancellationToken cancellationToken) =>
        CountAndBytesAsync(PurgeExpiredSql, cancellationToken,
            new NpgsqlParameter<string>("mailbox_id", mailboxId),
            new NpgsqlParameter<DateTimeOffset>("now", now));

    /// <summary>Deletes every envelope of one mailbox and the ids of those acknowledged; returns how many envelopes and bytes.</summary>
    public Task<(long Count, long Bytes)> PurgeMailboxAsync(string mailboxId, CancellationToken cancellationToken) =>
        CountAndBytesAsync(PurgeMailboxSql, cancellationToken, new NpgsqlParameter<string>("mailbox_id", mailboxId));

    /// <summary>Counts one mailbox's unexpired envelopes, their bytes and the highest sequence number.</summary>
    public async Task<MailboxTotals> GetTotalsAsync(string mailboxId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(TotalsSql);
        command.Parameters.Add(new NpgsqlParameter<string>("mailbox_id", mailboxId));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("now", now));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new MailboxTotals(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
    }

    /// <summary>Deletes up to <paramref name="limit"/> expired envelopes of any mailbox.</summary>
    public async Task<int> SweepExpiredAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SweepExpiredSql);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("now", now));
        command.Parameters.Add(new NpgsqlParameter<int>("limit", limit));
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Forgets up to <paramref name="limit"/> acknowledged ids older than <paramref name="cutoff"/>.</summary>
    public async Task<int> SweepAcknowledgedAsync(DateTimeOffset cutoff, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SweepAcknowledgedSql);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("cutoff", cutoff));
        command.Parameters.Add(new NpgsqlParameter<int>("limit", limit));
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<(long Count, long Bytes)> CountAndBytesAsync(
        string sql, CancellationToken cancellationToken, params NpgsqlParameter[] parameters)
    {
        await using var command = dataSource.CreateCommand(sql);
        command.Parameters.AddRange(parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetInt64(0), reader.GetInt64(1));
    }
}
