using Npgsql;
using Pigeon.Grains.Abstractions.Mailboxes;

namespace Pigeon.Grains.Mailboxes;

/// <summary>An envelope on its way into the table.</summary>
internal readonly record struct EnvelopeToStore(string MailboxId, Guid MessageId, byte[] Payload);

/// <summary>The outcome of storing one envelope: its receipt, and whether this call inserted it.</summary>
internal readonly record struct StoredEnvelope(DepositReceipt Receipt, bool Inserted);

/// <summary>What a mailbox holds, as counted in the table.</summary>
internal readonly record struct MailboxTotals(long Envelopes, long Bytes, long LastSequence);

/// <summary>
/// The envelope rows of every mailbox, in Pigeon's own tables (sql/0003). All times come from the
/// caller so that expiry follows the grains' clock.
/// </summary>
internal sealed class EnvelopeStore(NpgsqlDataSource dataSource)
{
    // One statement stores a whole batch. Rows whose id was stored or acknowledged before are not
    // inserted; the statement's snapshot predates its own inserts, so the lookups below see only
    // earlier rows and report the first receipt for repeats.
    private const string InsertBatchSql = """
        WITH input AS (
            SELECT i.mailbox_id, i.message_id, i.payload, i.ord
            FROM unnest(@mailbox_ids::text[], @message_ids::uuid[], @payloads::bytea[])
                 WITH ORDINALITY AS i(mailbox_id, message_id, payload, ord)
        ),
        inserted AS (
            INSERT INTO pigeon.envelopes (mailbox_id, message_id, payload, size_bytes, deposited_at, expires_at)
            SELECT i.mailbox_id, i.message_id, i.payload, octet_length(i.payload), @now, @expires_at
            FROM input i
            WHERE NOT EXISTS (
                SELECT 1 FROM pigeon.acknowledged_envelopes a
                WHERE a.mailbox_id = i.mailbox_id AND a.message_id = i.message_id)
            ORDER BY i.ord
            ON CONFLICT (mailbox_id, message_id) DO NOTHING
            RETURNING mailbox_id, message_id, seq, deposited_at
        )
        SELECT mailbox_id, message_id, seq, deposited_at, true FROM inserted
        UNION ALL
        SELECT e.mailbox_id, e.message_id, e.seq, e.deposited_at, false
        FROM pigeon.envelopes e JOIN input i ON e.mailbox_id = i.mailbox_id AND e.message_id = i.message_id
        UNION ALL
        SELECT a.mailbox_id, a.message_id, a.seq, a.deposited_at, false
        FROM pigeon.acknowledged_envelopes a JOIN input i ON a.mailbox_id = i.mailbox_id AND a.message_id = i.message_id
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

    private const string AcknowledgeSql = """
        WITH gone AS (
            DELETE FROM pigeon.envelopes
            WHERE mailbox_id = @mailbox_id AND message_id = ANY(@message_ids)
            RETURNING mailbox_id, message_id, seq, deposited_at, size_bytes
        ),
        remembered AS (
            INSERT INTO pigeon.acknowledged_envelopes (mailbox_id, message_id, seq, deposited_at, acknowledged_at)
            SELECT mailbox_id, message_id, seq, deposited_at, @now FROM gone
            ON CONFLICT (mailbox_id, message_id) DO NOTHING
        )
        SELECT count(*), coalesce(sum(size_bytes), 0) FROM gone
        """;

    private const string PurgeExpiredSql = """
        WITH gone AS (
            DELETE FROM pigeon.envelopes WHERE mailbox_id = @mailbox_id AND expires_at <= @now RETURNING size_bytes
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

    /// <summary>Stores a batch of envelopes in one transaction and returns one result per input, in order.</summary>
    public async Task<StoredEnvelope[]> InsertAsync(
        IReadOnlyList<EnvelopeToStore> batch, DateTimeOffset now, TimeSpan ttl, CancellationToken cancellationToken)
    {
        var mailboxIds = new string[batch.Count];
        var messageIds = new Guid[batch.Count];
        var payloads = new byte[batch.Count][];
        for (var i = 0; i < batch.Count; i++)
        {
            (mailboxIds[i], messageIds[i], payloads[i]) = (batch[i].MailboxId, batch[i].MessageId, batch[i].Payload);
        }

        var found = new Dictionary<(string, Guid), StoredEnvelope>(batch.Count);
        await using (var command = dataSource.CreateCommand(InsertBatchSql))
        {
            command.Parameters.Add(new NpgsqlParameter<string[]>("mailbox_ids", mailboxIds));
            command.Parameters.Add(new NpgsqlParameter<Guid[]>("message_ids", messageIds));
            command.Parameters.Add(new NpgsqlParameter<byte[][]>("payloads", payloads));
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("now", now));
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("expires_at", now + ttl));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
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

        var results = new StoredEnvelope[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            if (found.TryGetValue((mailboxIds[i], messageIds[i]), out var stored))
            {
                results[i] = stored;
                // The same id twice in one batch: only the first is the insert.
                found[(mailboxIds[i], messageIds[i])] = stored with { Inserted = false };
                continue;
            }

            // Another transaction inserted the same id concurrently and committed after our snapshot.
            var receipt = await FindAsync(mailboxIds[i], messageIds[i], cancellationToken)
                ?? throw new InvalidOperationException("An envelope was neither inserted nor found.");
            results[i] = new StoredEnvelope(receipt, Inserted: false);
        }

        return results;
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

    /// <summary>Deletes acknowledged envelopes, remembering their ids; returns how many and how many bytes.</summary>
    public Task<(long Count, long Bytes)> AcknowledgeAsync(
        string mailboxId, Guid[] messageIds, DateTimeOffset now, CancellationToken cancellationToken) =>
        CountAndBytesAsync(AcknowledgeSql, cancellationToken,
            new NpgsqlParameter<string>("mailbox_id", mailboxId),
            new NpgsqlParameter<Guid[]>("message_ids", messageIds),
            new NpgsqlParameter<DateTimeOffset>("now", now));

    /// <summary>Deletes one mailbox's expired envelopes; returns how many and how many bytes.</summary>
    public Task<(long Count, long Bytes)> PurgeExpiredAsync(string mailboxId, DateTimeOffset now, CancellationToken cancellationToken) =>
        CountAndBytesAsync(PurgeExpiredSql, cancellationToken,
            new NpgsqlParameter<string>("mailbox_id", mailboxId),
            new NpgsqlParameter<DateTimeOffset>("now", now));

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
