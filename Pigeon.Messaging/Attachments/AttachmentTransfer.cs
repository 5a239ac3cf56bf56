using Pigeon.Api;
using Pigeon.Protocol.Attachments;

namespace Pigeon.Messaging.Attachments;

/// <summary>An upload begun and not yet completed: enough to resume it after the process died.</summary>
/// <param name="Pointer">The pointer the message will carry once the upload completes.</param>
/// <param name="CiphertextPath">The encrypted file, kept until the upload completes.</param>
public sealed record PendingUpload(AttachmentPointer Pointer, string CiphertextPath);

/// <summary>How far a transfer is: bytes done of the total (ciphertext bytes).</summary>
public readonly record struct TransferProgress(long Done, long Total);

/// <summary>
/// Moves attachments between a file and the server: encrypts with a fresh key
/// (<see cref="AttachmentCipher"/>), uploads chunk by chunk resuming from what the server says it
/// lacks, and downloads resuming from what already arrived, checking the digest before the
/// destination is written. Neither direction holds more than a chunk in memory.
/// </summary>
public sealed class AttachmentTransfer(PigeonApiClient api, int attempts = 5)
{
    /// <summary>
    /// Encrypts <paramref name="plaintextPath"/> into <paramref name="ciphertextPath"/> and creates its
    /// upload; the caller keeps the returned upload (sealed at rest) to resume it with <see cref="ResumeUploadAsync"/>.
    /// </summary>
    public async Task<PendingUpload> BeginUploadAsync(string plaintextPath, string ciphertextPath, string name, string contentType,
        TimeSpan? lifetime, CancellationToken ct)
    {
        EncryptedAttachment encrypted;
        await using (var plaintext = File.OpenRead(plaintextPath))
        await using (var ciphertext = new FileStream(ciphertextPath, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            encrypted = await AttachmentCipher.Encrypt(plaintext, plaintext.Length, ciphertext, ct);
        }

        var created = await api.CreateAttachmentAsync(encrypted.CiphertextSize, lifetime, ct);
        return new PendingUpload(AttachmentPointer.From(created, encrypted, name, contentType), ciphertextPath);
    }

    /// <summary>
    /// Sends the chunks the server lacks and completes the upload. A dropped connection asks the
    /// server again what it has and goes on, up to the attempts this transfer was given; then the
    /// failure propagates and the same call later resumes where it stopped.
    /// </summary>
    public async Task ResumeUploadAsync(PendingUpload upload, IProgress<TransferProgress>? progress, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(upload);
        var id = upload.Pointer.AttachmentId;
        await RetryingAsync(async () =>
        {
            var status = await api.AttachmentStatusAsync(id, ct);
            if (status.Completed)
            {
                return;
            }

            var chunkBytes = ApiLimits.AttachmentChunkBytes;
            var missing = status.MissingChunks.ToHashSet();
            var done = (status.ChunkCount - missing.Count) * (long)chunkBytes;
            progress?.Report(new TransferProgress(Math.Min(done, status.SizeBytes), status.SizeBytes));
            await using var file = File.OpenRead(upload.CiphertextPath);
            var buffer = new byte[chunkBytes];
            foreach (var index in status.MissingChunks)
            {
                file.Position = (long)index * chunkBytes;
                var length = (int)Math.Min(chunkBytes, status.SizeBytes - file.Position);
                await file.ReadExactlyAsync(buffer.AsMemory(0, length), ct);
                await api.UploadAttachmentChunkAsync(id, index, length == chunkBytes ? buffer : buffer[..length], ct);
                done += length;
                progress?.Report(new TransferProgress(Math.Min(done, status.SizeBytes), status.SizeBytes));
            }

            await api.CompleteAttachmentAsync(id, ct);
        }, ct);
    }

    /// <summary>
    /// Downloads the attachment's ciphertext into <paramref name="ciphertextPath"/>, continuing after
    /// what that file already holds (a download cut off, here or in a process that died). The ciphertext
    /// is useless without the key, so it may wait there, in the profile, until it is opened.
    /// </summary>
    public async Task FetchAsync(AttachmentPointer pointer, string ciphertextPath, IProgress<TransferProgress>? progress, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(pointer);
        var total = pointer.CiphertextSize;
        await RetryingAsync(async () =>
        {
            await using var partial = new FileStream(ciphertextPath, FileMode.OpenOrCreate, FileAccess.Write, FileShare.None);
            if (partial.Length > total)
            {
                partial.SetLength(0);
            }

            partial.Position = partial.Length;
            if (partial.Length < total)
            {
                progress?.Report(new TransferProgress(partial.Length, total));
                await api.DownloadAttachmentAsync(pointer.AttachmentId, pointer.Capability, partial.Length,
                    new ProgressStream(partial, done => progress?.Report(new TransferProgress(done, total))), ct);
            }

            progress?.Report(new TransferProgress(partial.Length, total));
        }, ct);
    }

    /// <summary>
    /// Checks the fetched ciphertext at <paramref name="ciphertextPath"/> against the digest, decrypts it
    /// beside <paramref name="destinationPath"/> and only then moves it there. A digest or tag that does
    /// not match is a <see cref="Protocol.ProtocolException"/> and leaves the destination untouched.
    /// </summary>
    /// <exception cref="IOException">The destination exists and <paramref name="overwrite"/> is false.</exception>
    public static async Task OpenAsync(AttachmentPointer pointer, string ciphertextPath, string destinationPath, bool overwrite, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(pointer);
        var decrypted = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(destinationPath))!, $".{Path.GetFileName(destinationPath)}.{Guid.NewGuid():N}.part");
        try
        {
            await using (var ciphertext = File.OpenRead(ciphertextPath))
            await using (var plaintext = new FileStream(decrypted, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                await AttachmentCipher.Decrypt(ciphertext, pointer.Key, pointer.Digest, pointer.Size, plaintext, ct);
            }

            File.Move(decrypted, destinationPath, overwrite);
        }
        catch
        {
            File.Delete(decrypted);
            throw;
        }
    }

    private async Task RetryingAsync(Func<Task> step, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await step();
                return;
            }
            catch (Exception exception) when (attempt < attempts && !ct.IsCancellationRequested
                && exception is HttpRequestException or TimeoutException or IOException or PigeonApiException { IsTransient: true })
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt), ct);
            }
        }
    }

    /// <summary>Counts what passes through to the file, so a download reports its progress.</summary>
    private sealed class ProgressStream(FileStream inner, Action<long> report) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();
        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count)
        {
            inner.Write(buffer, offset, count);
            report(inner.Position);
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await inner.WriteAsync(buffer, cancellationToken);
            report(inner.Position);
        }
    }
}
