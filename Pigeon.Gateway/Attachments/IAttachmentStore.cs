namespace Pigeon.Gateway.Attachments;

/// <summary>What the server knows of one attachment: its sizes, times and uploader, never its content's meaning.</summary>
/// <param name="AttachmentId">The id.</param>
/// <param name="Uploader">The account that uploaded it (for quotas and for resuming).</param>
/// <param name="CapabilityHash">SHA-256 of the download capability.</param>
/// <param name="SizeBytes">The declared ciphertext size.</param>
/// <param name="ChunkBytes">Bytes per chunk.</param>
/// <param name="ChunkCount">How many chunks it has.</param>
/// <param name="ExpiresAt">When it is deleted.</param>
/// <param name="CompletedAt">When the upload completed; null before.</param>
public sealed record StoredAttachment(
    Guid AttachmentId, string Uploader, byte[] CapabilityHash, long SizeBytes, int ChunkBytes, int ChunkCount,
    DateTimeOffset ExpiresAt, DateTimeOffset? CompletedAt)
{
    /// <summary>The length chunk <paramref name="index"/> must have.</summary>
    public int ChunkLength(int index) =>
        index < ChunkCount - 1 ? ChunkBytes : (int)(SizeBytes - ((long)(ChunkCount - 1) * ChunkBytes));
}

/// <summary>What <see cref="IAttachmentStore.CreateAsync"/> answered.</summary>
/// <param name="Created">The new attachment, or null when the uploader's daily quota would be exceeded.</param>
/// <param name="QuotaFreesAt">When enough of the quota frees again (the oldest counted upload leaves the window); set when <paramref name="Created"/> is null.</param>
public sealed record AttachmentCreation(StoredAttachment? Created, DateTimeOffset? QuotaFreesAt);

/// <summary>
/// Where attachment ciphertext lives, chunk by chunk. PostgreSQL by default
/// (<see cref="PostgresAttachmentStore"/>); an S3-compatible store fits the same shape (a multipart
/// upload is chunks by index, a ranged GET is <see cref="CopyToAsync"/>). No method takes or returns
/// a whole file.
/// </summary>
public interface IAttachmentStore
{
    /// <summary>
    /// Records a new upload unless the uploader's uploads since <paramref name="now"/> minus a day,
    /// plus this one, exceed <paramref name="bytesPerDay"/>. The check and the insert are atomic per uploader.
    /// </summary>
    Task<AttachmentCreation> CreateAsync(StoredAttachment attachment, DateTimeOffset now, long bytesPerDay, CancellationToken ct);

    /// <summary>The attachment, or null when there is none (never created, expired or swept).</summary>
    Task<StoredAttachment?> FindAsync(Guid attachmentId, DateTimeOffset now, CancellationToken ct);

    /// <summary>Stores (or replaces, when resent) one chunk of an upload that is not yet complete; false when it is complete or gone.</summary>
    Task<bool> PutChunkAsync(Guid attachmentId, int index, ReadOnlyMemory<byte> bytes, CancellationToken ct);

    /// <summary>The chunk indexes below <paramref name="chunkCount"/> the store does not hold, ascending.</summary>
    Task<IReadOnlyList<int>> MissingChunksAsync(Guid attachmentId, int chunkCount, CancellationToken ct);

    /// <summary>Marks the upload complete when every chunk is there; false when some are missing.</summary>
    Task<bool> CompleteAsync(Guid attachmentId, int chunkCount, DateTimeOffset now, CancellationToken ct);

    /// <summary>
    /// Writes the ciphertext from byte <paramref name="offset"/> on to <paramref name="destination"/>,
    /// one chunk in memory at a time, and counts the download.
    /// </summary>
    Task CopyToAsync(StoredAttachment attachment, long offset, Stream destination, CancellationToken ct);

    /// <summary>Deletes what expired before <paramref name="now"/> and uploads begun before <paramref name="incompleteBefore"/> and never completed; returns how many.</summary>
    Task<int> SweepAsync(DateTimeOffset now, DateTimeOffset incompleteBefore, CancellationToken ct);
}
