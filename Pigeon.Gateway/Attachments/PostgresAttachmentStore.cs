using System.Data;
using Npgsql;
using NpgsqlTypes;

namespace Pigeon.Gateway.Attachments;

/// <summary>
/// Attachments in PostgreSQL (sql/0007_pigeon_attachments.sql): one row per upload and one per
/// chunk. The gateway talks to the database itself rather than through a grain: a chunk is a
/// megabyte, and passing it through a silo would copy it twice more and hold it in the silo's
/// memory, for no gain, since no attachment has state that needs one activation to guard it (the
/// rows' keys and one transaction per change are enough). The silo keeps owning the schema.
/// </summary>
internal sealed class PostgresAttachmentStore(NpgsqlDataSource dataSource) : IAttachmentStore
{
    private const string Columns =
        "attachment_id, uploader, capability_hash, size_bytes, chunk_bytes, chunk_count, expires_at, completed_at";

    public async Task<AttachmentCreation> CreateAsync(StoredAttachment attachment, DateTimeOffset now, long bytesPerDay, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        // One uploader's creations take turns, so two at once cannot both fit under the quota.
        await using (var lockUploader = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended(@uploader, 7))", connection, transaction))
        {
            lockUploader.Parameters.AddWithValue("uploader", attachment.Uploader);
            await lockUploader.ExecuteNonQueryAsync(ct);
        }

        await using (var used = new NpgsqlCommand(
            "SELECT coalesce(sum(size_bytes), 0), min(created_at) FROM pigeon.attachments WHERE uploader = @uploader AND created_at > @since",
            connection, transaction))
        {
            used.Parameters.AddWithValue("uploader", attachment.Uploader);
            used.Parameters.AddWithValue("since", now.AddDays(-1));
            await using var reader = await used.ExecuteReaderAsync(ct);
            await reader.ReadAsync(ct);
            var bytes = reader.GetInt64(0);
            if (bytes + attachment.SizeBytes > bytesPerDay)
            {
                var oldest = reader.IsDBNull(1) ? now : reader.GetFieldValue<DateTimeOffset>(1);
                return new AttachmentCreation(null, oldest.AddDays(1));
            }
        }

        await using (var insert = new NpgsqlCommand(
            "INSERT INTO pigeon.attachments (attachment_id, uploader, capability_hash, size_bytes, chunk_bytes, chunk_count, created_at, expires_at) " +
            "VALUES (@id, @uploader, @hash, @size, @chunkBytes, @chunkCount, @now, @expires)", connection, transaction))
        {
            insert.Parameters.AddWithValue("id", attachment.AttachmentId);
            insert.Parameters.AddWithValue("uploader", attachment.Uploader);
            insert.Parameters.AddWithValue("hash", attachment.CapabilityHash);
            insert.Parameters.AddWithValue("size", attachment.SizeBytes);
            insert.Parameters.AddWithValue("chunkBytes", attachment.ChunkBytes);
            insert.Parameters.AddWithValue("chunkCount", attachment.ChunkCount);
            insert.Parameters.AddWithValue("now", now);
            insert.Parameters.AddWithValue("expires", attachment.ExpiresAt);
            await insert.ExecuteNonQueryAsync(ct);
        }

        await transaction.CommitAsync(ct);
        return new AttachmentCreation(attachment, null);
    }

    public async Task<StoredAttachment?> FindAsync(Guid attachmentId, DateTimeOffset now, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand($"SELECT {Columns} FROM pigeon.attachments WHERE attachment_id = @id AND expires_at > @now");
        command.Parameters.AddWithValue("id", attachmentId);
        command.Parameters.AddWithValue("now", now);
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
        {
            return null;
        }

        return new StoredAttachment(
            reader.GetGuid(0), reader.GetString(1), reader.GetFieldValue<byte[]>(2), reader.GetInt64(3), reader.GetInt32(4), reader.GetInt32(5),
            reader.GetFieldValue<DateTimeOffset>(6), reader.IsDBNull(7) ? null : reader.GetFieldValue<DateTimeOffset>(7));
    }

    public async Task<bool> PutChunkAsync(Guid attachmentId, int index, ReadOnlyMemory<byte> bytes, CancellationToken ct)
    {
        // The insert runs only while the upload is incomplete; a resent chunk replaces the first copy.
        await using var command = dataSource.CreateCommand(
            "INSERT INTO pigeon.attachment_chunks (attachment_id, chunk_index, bytes) " +
            "SELECT attachment_id, @index, @bytes FROM pigeon.attachments WHERE attachment_id = @id AND completed_at IS NULL " +
            "ON CONFLICT (attachment_id, chunk_index) DO UPDATE SET bytes = excluded.bytes");
        command.Parameters.AddWithValue("id", attachmentId);
        command.Parameters.AddWithValue("index", index);
        command.Parameters.Add(new NpgsqlParameter<ReadOnlyMemory<byte>>("bytes", NpgsqlDbType.Bytea) { TypedValue = bytes });
        return await command.ExecuteNonQueryAsync(ct) == 1;
    }

    public async Task<IReadOnlyList<int>> MissingChunksAsync(Guid attachmentId, int chunkCount, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT i FROM generate_series(0, @count - 1) AS i " +
            "WHERE NOT EXISTS (SELECT 1 FROM pigeon.attachment_chunks c WHERE c.attachment_id = @id AND c.chunk_index = i) ORDER BY i");
        command.Parameters.AddWithValue("id", attachmentId);
        command.Parameters.AddWithValue("count", chunkCount);
        var missing = new List<int>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            missing.Add(reader.GetInt32(0));
        }

        return missing;
    }

    public async Task<bool> CompleteAsync(Guid attachmentId, int chunkCount, DateTimeOffset now, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            "UPDATE pigeon.attachments SET completed_at = coalesce(completed_at, @now) WHERE attachment_id = @id " +
            "AND (SELECT count(*) FROM pigeon.attachment_chunks c WHERE c.attachment_id = @id) = @count");
        command.Parameters.AddWithValue("id", attachmentId);
        command.Parameters.AddWithValue("count", (long)chunkCount);
        command.Parameters.AddWithValue("now", now);
        return await command.ExecuteNonQueryAsync(ct) == 1;
    }

    public async Task CopyToAsync(StoredAttachment attachment, long offset, Stream destination, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using (var count = new NpgsqlCommand("UPDATE pigeon.attachments SET downloads = downloads + 1 WHERE attachment_id = @id", connection))
        {
            count.Parameters.AddWithValue("id", attachment.AttachmentId);
            await count.ExecuteNonQueryAsync(ct);
        }

        var first = (int)(offset / attachment.ChunkBytes);
        var skip = offset % attachment.ChunkBytes;
        await using var command = new NpgsqlCommand(
            "SELECT bytes FROM pigeon.attachment_chunks WHERE attachment_id = @id AND chunk_index >= @first ORDER BY chunk_index", connection);
        command.Parameters.AddWithValue("id", attachment.AttachmentId);
        command.Parameters.AddWithValue("first", first);
        // Sequential access streams each row's bytes from the socket instead of buffering the row.
        await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, ct);
        while (await reader.ReadAsync(ct))
        {
            await using var chunk = await reader.GetStreamAsync(0, ct);
            if (skip > 0)
            {
                await SkipAsync(chunk, skip, ct);
                skip = 0;
            }

            await chunk.CopyToAsync(destination, ct);
        }
    }

    public async Task<int> SweepAsync(DateTimeOffset now, DateTimeOffset incompleteBefore, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            "DELETE FROM pigeon.attachments WHERE expires_at <= @now OR (completed_at IS NULL AND created_at < @incompleteBefore)");
        command.Parameters.AddWithValue("now", now);
        command.Parameters.AddWithValue("incompleteBefore", incompleteBefore);
        return await command.ExecuteNonQueryAsync(ct);
    }

    private static async Task SkipAsync(Stream stream, long count, CancellationToken ct)
    {
        var buffer = new byte[Math.Min(count, 81920)];
        while (count > 0)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, count)), ct);
            if (read == 0)
            {
                return;
            }

            count -= read;
        }
    }
}
