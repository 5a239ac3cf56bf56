namespace Pigeon.Api;

/// <summary><c>POST /v1/attachments</c>: start an upload of <paramref name="SizeBytes"/> ciphertext bytes.</summary>
/// <param name="SizeBytes">The ciphertext's size, padding included: the only size the server learns.</param>
/// <param name="LifetimeSeconds">How long the server keeps the file, when shorter than its default (a disappearing-message timer); optional.</param>
public sealed record CreateAttachmentRequest(long SizeBytes, int? LifetimeSeconds = null);

/// <summary>A new upload.</summary>
/// <param name="AttachmentId">The attachment's id.</param>
/// <param name="Capability">
/// The secret that authorises downloads (<see cref="ApiLimits.AttachmentCapabilityHeader"/>). The
/// server returns it once and keeps only its hash; the sender puts it in the encrypted message.
/// </param>
/// <param name="ChunkBytes">Bytes per chunk; every chunk but the last is exactly this long.</param>
/// <param name="ChunkCount">How many chunks to upload (0 for an empty file).</param>
/// <param name="ExpiresAt">When the server deletes it.</param>
public sealed record CreateAttachmentResponse(Guid AttachmentId, byte[] Capability, int ChunkBytes, int ChunkCount, DateTimeOffset ExpiresAt);

/// <summary><c>GET /v1/attachments/{id}/status</c>: what the server holds of an upload, so a client resumes with the rest.</summary>
/// <param name="SizeBytes">The declared size.</param>
/// <param name="ChunkCount">How many chunks the upload has.</param>
/// <param name="MissingChunks">The chunk indexes not yet received, ascending.</param>
/// <param name="Completed">True once completed: it can be downloaded.</param>
/// <param name="ExpiresAt">When the server deletes it.</param>
public sealed record AttachmentStatusResponse(long SizeBytes, int ChunkCount, IReadOnlyList<int> MissingChunks, bool Completed, DateTimeOffset ExpiresAt);
