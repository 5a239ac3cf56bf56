using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Pigeon.Protocol.Attachments;

/// <summary>What <see cref="AttachmentCipher.Encrypt"/> made: everything the message must carry, beside the attachment's id.</summary>
/// <param name="Key">The fresh random 256-bit key.</param>
/// <param name="Digest">SHA-256 of the whole ciphertext, checked before anything is decrypted.</param>
/// <param name="Size">The plaintext's size (the padding is cut off on decryption).</param>
/// <param name="CiphertextSize">What is uploaded, padding and tags included.</param>
public sealed record EncryptedAttachment(byte[] Key, byte[] Digest, long Size, long CiphertextSize);

/// <summary>
/// Attachments encrypted as a stream of AES-256-GCM chunks with the STREAM construction (Hoang,
/// Reyhanitabar, Rogaway and Vizár, "Online Authenticated-Encryption and its Nonce-Reuse
/// Misuse-Resistance", CRYPTO 2015, §7), laid out as Tink's streaming AEAD does: each chunk's 96-bit
/// nonce is a 7-byte zero prefix (the key is fresh per file, so no prefix is needed to separate
/// streams), the chunk's index (u32, big-endian) and a last-chunk flag byte (1 on the last chunk, 0
/// before). A reordered, dropped, repeated or swapped chunk, a truncation at a chunk boundary and an
/// appended chunk all fail authentication. The plaintext is padded with zeros to
/// <see cref="AttachmentPadding.PaddedSize"/> before it is cut into chunks of
/// <see cref="ChunkSize"/> bytes, so the ciphertext's size reveals only the bucket. Every chunk's
/// associated data is a label with the version and the plaintext's size (u64, big-endian), so a chunk
/// of another format, or a ciphertext read with another size than the one it was sealed with, never opens.
/// </summary>
public static class AttachmentCipher
{
    /// <summary>Plaintext bytes per chunk (the last may be shorter).</summary>
    public const int ChunkSize = 64 * 1024;

    /// <summary>AES-GCM's tag, added to every chunk.</summary>
    public const int TagSize = 16;

    /// <summary>Size of the key.</summary>
    public const int KeySize = 32;

    /// <summary>Size of the digest.</summary>
    public const int DigestSize = 32;

    private static readonly byte[] Label = "Pigeon/2/attachment"u8.ToArray();

    /// <summary>The ciphertext's size for a plaintext of <paramref name="size"/> bytes.</summary>
    public static long CiphertextSize(long size)
    {
        var padded = AttachmentPadding.PaddedSize(size);
        var chunks = Math.Max(1, (padded + ChunkSize - 1) / ChunkSize);
        return padded + chunks * TagSize;
    }

    /// <summary>
    /// Encrypts <paramref name="size"/> bytes read from <paramref name="plaintext"/> under a fresh key and
    /// writes the ciphertext to <paramref name="ciphertext"/>, one chunk in memory at a time.
    /// </summary>
    /// <exception cref="EndOfStreamException">The input ended before <paramref name="size"/> bytes.</exception>
    public static async Task<EncryptedAttachment> Encrypt(Stream plaintext, long size, Stream ciphertext, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(plaintext);
        ArgumentNullException.ThrowIfNull(ciphertext);
        var key = RandomNumberGenerator.GetBytes(KeySize);
        var padded = AttachmentPadding.PaddedSize(size);
        var associatedData = AssociatedData(size);
        using var aes = new AesGcm(key, TagSize);
        using var digest = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var chunk = new byte[ChunkSize];
        var sealedChunk = new byte[ChunkSize + TagSize];
        var nonce = new byte[12];
        long done = 0, written = 0;
        uint index = 0;
        try
        {
            do
            {
                var length = (int)Math.Min(ChunkSize, padded - done);
                var real = (int)Math.Clamp(size - done, 0, length);
                await plaintext.ReadExactlyAsync(chunk.AsMemory(0, real), ct);
                chunk.AsSpan(real, length - real).Clear();
                done += length;
                Nonce(nonce, index++, last: done == padded);
                aes.Encrypt(nonce, chunk.AsSpan(0, length), sealedChunk.AsSpan(0, length), sealedChunk.AsSpan(length, TagSize), associatedData);
                digest.AppendData(sealedChunk, 0, length + TagSize);
                await ciphertext.WriteAsync(sealedChunk.AsMemory(0, length + TagSize), ct);
                written += length + TagSize;
            }
            while (done < padded);

            return new EncryptedAttachment(key, digest.GetHashAndReset(), size, written);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(chunk);
        }
    }

    /// <summary>
    /// Checks that <paramref name="ciphertext"/> (a seekable stream, read from its position to its end
    /// and then put back) has the size a plaintext of <paramref name="size"/> bytes gives and the digest
    /// the message carried.
    /// </summary>
    /// <exception cref="ProtocolException"><see cref="ProtocolError.DecryptionFailed"/>: the size or the digest does not match.</exception>
    public static async Task CheckDigest(Stream ciphertext, byte[] expectedDigest, long size, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(ciphertext);
        if (ciphertext.Length - ciphertext.Position != CiphertextSize(size))
        {
            throw new ProtocolException(ProtocolError.DecryptionFailed, "The attachment's ciphertext has the wrong size.");
        }

        var start = ciphertext.Position;
        using (var digest = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
        {
            var buffer = new byte[ChunkSize + TagSize];
            int read;
            while ((read = await ciphertext.ReadAsync(buffer, ct)) > 0)
            {
                digest.AppendData(buffer, 0, read);
            }

            if (!CryptographicOperations.FixedTimeEquals(digest.GetHashAndReset(), expectedDigest))
            {
                throw new ProtocolException(ProtocolError.DecryptionFailed, "The attachment does not match its digest.");
            }
        }

        ciphertext.Position = start;
    }

    /// <summary>
    /// Checks <paramref name="ciphertext"/> (a seekable stream: a downloaded file) against the digest the
    /// message carried, then decrypts it and writes exactly <paramref name="size"/> bytes to
    /// <paramref name="plaintext"/>. Nothing is written before the digest matched; a chunk that fails
    /// afterwards (only possible for a ciphertext made under this key by someone else) throws too, and
    /// the caller discards the partial output.
    /// </summary>
    /// <exception cref="ProtocolException">
    /// <see cref="ProtocolError.DecryptionFailed"/>: the digest, a chunk's tag, the chunk layout or the padding do not match.
    /// </exception>
    public static async Task Decrypt(Stream ciphertext, byte[] key, byte[] expectedDigest, long size, Stream plaintext, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(ciphertext);
        ArgumentNullException.ThrowIfNull(plaintext);
        if (key is not { Length: KeySize } || expectedDigest is not { Length: DigestSize } || size < 0)
        {
            throw new ProtocolException(ProtocolError.Malformed, "The attachment's key, digest or size is malformed.");
        }

        await CheckDigest(ciphertext, expectedDigest, size, ct);
        var padded = AttachmentPadding.PaddedSize(size);
        var associatedData = AssociatedData(size);
        using var aes = new AesGcm(key, TagSize);
        var sealedChunk = new byte[ChunkSize + TagSize];
        var chunk = new byte[ChunkSize];
        var nonce = new byte[12];
        long done = 0;
        uint index = 0;
        try
        {
            do
            {
                var length = (int)Math.Min(ChunkSize, padded - done);
                await ciphertext.ReadExactlyAsync(sealedChunk.AsMemory(0, length + TagSize), ct);
                done += length;
                Nonce(nonce, index++, last: done == padded);
                try
                {
                    aes.Decrypt(nonce, sealedChunk.AsSpan(0, length), sealedChunk.AsSpan(length, TagSize), chunk.AsSpan(0, length), associatedData);
                }
                catch (AuthenticationTagMismatchException exception)
                {
                    throw new ProtocolException(ProtocolError.DecryptionFailed, $"Chunk {index - 1} of the attachment does not authenticate.", exception);
                }

                var real = (int)Math.Clamp(size - (done - length), 0, length);
                if (chunk.AsSpan(real, length - real).ContainsAnyExcept((byte)0))
                {
                    throw new ProtocolException(ProtocolError.DecryptionFailed, "The attachment's padding is not zeros.");
                }

                await plaintext.WriteAsync(chunk.AsMemory(0, real), ct);
            }
            while (done < padded);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(chunk);
        }
    }

    private static byte[] AssociatedData(long size)
    {
        var data = new byte[Label.Length + 8];
        Label.CopyTo(data, 0);
        BinaryPrimitives.WriteInt64BigEndian(data.AsSpan(Label.Length), size);
        return data;
    }

    private static void Nonce(Span<byte> nonce, uint index, bool last)
    {
        nonce[..7].Clear();
        BinaryPrimitives.WriteUInt32BigEndian(nonce[7..11], index);
        nonce[11] = last ? (byte)1 : (byte)0;
    }
}
