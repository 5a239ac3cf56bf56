using System.Security.Cryptography;
using Pigeon.Protocol;
using Pigeon.Protocol.Attachments;

namespace Pigeon.Tests.Protocol.Attachments;

/// <summary>
/// Attachments as STREAM over AES-256-GCM chunks: round trips at the chunk boundaries, padding to
/// buckets, and every way of tampering with the ciphertext refused before or while decrypting.
/// </summary>
public sealed class AttachmentCipherTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(AttachmentCipher.ChunkSize - 1)]
    [InlineData(AttachmentCipher.ChunkSize)]
    [InlineData(AttachmentCipher.ChunkSize + 1)]
    [InlineData(10 * 1024 * 1024)]
    public async Task RoundTrip_GivesBackExactlyTheBytes_InAPaddedCiphertextOfThePredictedSize(int size)
    {
        var content = RandomNumberGenerator.GetBytes(size);

        var (sealedFile, encrypted) = await EncryptAsync(content);
        var opened = await DecryptAsync(sealedFile, encrypted.Key, encrypted.Digest, size);

        Assert.Equal(content, opened);
        Assert.Equal(AttachmentCipher.CiphertextSize(size), sealedFile.Length);
        Assert.Equal(sealedFile.Length, encrypted.CiphertextSize);
        Assert.True(sealedFile.Length >= AttachmentPadding.PaddedSize(size));
        Assert.Equal(SHA256.HashData(sealedFile), encrypted.Digest);
    }

    [Fact]
    public async Task TwoEncryptionsOfOneFile_ShareNoKeyAndNoCiphertext()
    {
        var content = RandomNumberGenerator.GetBytes(1000);

        var (first, a) = await EncryptAsync(content);
        var (second, b) = await EncryptAsync(content);

        Assert.NotEqual(a.Key, b.Key);
        Assert.NotEqual(first, second);
    }

    [Fact]
    public void Padding_IsAtLeastTheSize_AtMostFivePercentMore_AndFewSizesPerDoubling()
    {
        Assert.Equal(AttachmentPadding.MinimumSize, AttachmentPadding.PaddedSize(0));
        Assert.Equal(AttachmentPadding.MinimumSize, AttachmentPadding.PaddedSize(541));
        long previous = 0;
        var buckets = new HashSet<long>();
        for (long size = 542; size < 2 * 1024 * 1024; size += 997)
        {
            var padded = AttachmentPadding.PaddedSize(size);
            Assert.InRange(padded, size, (long)(size * 1.05) + 1);
            Assert.True(padded >= previous);
            previous = padded;
            if (size >= 1024 * 1024)
            {
                buckets.Add(padded);
            }
        }

        Assert.InRange(buckets.Count, 10, 16);
        Assert.Throws<ArgumentOutOfRangeException>(() => AttachmentPadding.PaddedSize(-1));
    }

    [Fact]
    public async Task AFlippedByte_FailsTheDigest_AndNothingIsWritten()
    {
        var (file, encrypted) = await EncryptAsync(RandomNumberGenerator.GetBytes(3 * AttachmentCipher.ChunkSize));
        file[file.Length / 2] ^= 1;
        using var output = new MemoryStream();

        var refused = await Assert.ThrowsAsync<ProtocolException>(() =>
            AttachmentCipher.Decrypt(new MemoryStream(file), encrypted.Key, encrypted.Digest, 3 * AttachmentCipher.ChunkSize, output, Ct));

        Assert.Equal(ProtocolError.DecryptionFailed, refused.Reason);
        Assert.Equal(0, output.Length);
    }

    // The cases below also give the tampered ciphertext's own digest, as if whoever tampered could change
    // the message too: the chunks' tags and the STREAM nonces must refuse it by themselves.
    [Fact]
    public async Task ReorderedChunks_Fail()
    {
        var size = 3 * AttachmentCipher.ChunkSize;
        var (file, encrypted) = await EncryptAsync(RandomNumberGenerator.GetBytes(size));
        var chunk = AttachmentCipher.ChunkSize + AttachmentCipher.TagSize;
        var swapped = file.ToArray();
        file.AsSpan(0, chunk).CopyTo(swapped.AsSpan(chunk));
        file.AsSpan(chunk, chunk).CopyTo(swapped);

        await AssertRefusedAsync(swapped, encrypted.Key, size);
    }

    [Fact]
    public async Task ATruncationAtAChunkBoundary_OrAnAppendedChunk_Fails()
    {
        var size = 3 * AttachmentCipher.ChunkSize;
        var (file, encrypted) = await EncryptAsync(RandomNumberGenerator.GetBytes(size));
        var chunk = AttachmentCipher.ChunkSize + AttachmentCipher.TagSize;

        await AssertRefusedAsync(file[..(2 * chunk)], encrypted.Key, size);
        await AssertRefusedAsync([.. file, .. file[..chunk]], encrypted.Key, size);
    }

    [Fact]
    public async Task AChunkFromAnotherFile_OrTheWrongKey_OrTheWrongSize_Fails()
    {
        var size = 2 * AttachmentCipher.ChunkSize;
        var (file, encrypted) = await EncryptAsync(RandomNumberGenerator.GetBytes(size));
        var (other, _) = await EncryptAsync(RandomNumberGenerator.GetBytes(size));
        var mixed = file.ToArray();
        other.AsSpan(0, AttachmentCipher.ChunkSize + AttachmentCipher.TagSize).CopyTo(mixed);

        await AssertRefusedAsync(mixed, encrypted.Key, size);
        await AssertRefusedAsync(file, RandomNumberGenerator.GetBytes(AttachmentCipher.KeySize), size);
        var wrongSize = await Assert.ThrowsAsync<ProtocolException>(() =>
            AttachmentCipher.Decrypt(new MemoryStream(file), encrypted.Key, encrypted.Digest, size + 1, new MemoryStream(), Ct));
        Assert.Equal(ProtocolError.DecryptionFailed, wrongSize.Reason);
    }

    private static async Task AssertRefusedAsync(byte[] ciphertext, byte[] key, long size)
    {
        var refused = await Assert.ThrowsAsync<ProtocolException>(() =>
            AttachmentCipher.Decrypt(new MemoryStream(ciphertext), key, SHA256.HashData(ciphertext), size, new MemoryStream(), Ct));
        Assert.Equal(ProtocolError.DecryptionFailed, refused.Reason);
    }

    private static async Task<(byte[] File, EncryptedAttachment Encrypted)> EncryptAsync(byte[] content)
    {
        using var output = new MemoryStream();
        var encrypted = await AttachmentCipher.Encrypt(new MemoryStream(content), content.Length, output, Ct);
        return (output.ToArray(), encrypted);
    }

    private static async Task<byte[]> DecryptAsync(byte[] file, byte[] key, byte[] digest, long size)
    {
        using var output = new MemoryStream();
        await AttachmentCipher.Decrypt(new MemoryStream(file), key, digest, size, output, Ct);
        return output.ToArray();
    }
}
