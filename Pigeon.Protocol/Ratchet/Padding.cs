using System.Buffers.Binary;
using System.Numerics;

namespace Pigeon.Protocol.Ratchet;

/// <summary>
/// Pads plaintexts to buckets so ciphertext lengths reveal only a size class: a 4-byte big-endian
/// length, the plaintext, then zeros up to the bucket. Buckets are powers of two from 64 bytes to
/// 16 KiB, then multiples of 16 KiB up to <see cref="MaxPaddedSize"/>.
/// </summary>
public static class Padding
{
    /// <summary>The smallest padded size.</summary>
    public const int MinPaddedSize = 64;

    /// <summary>Above this size buckets grow linearly instead of doubling.</summary>
    public const int LinearStep = 16 * 1024;

    /// <summary>
    /// The largest padded size (48 KiB): with a first message's prelude and the sealed envelope around
    /// it, the largest message stays below the server's 64 KiB envelope limit.
    /// </summary>
    public const int MaxPaddedSize = 3 * LinearStep;

    /// <summary>The largest plaintext that can be sent.</summary>
    public const int MaxPlaintextSize = MaxPaddedSize - LengthPrefix;

    private const int LengthPrefix = 4;

    /// <summary>The padded size for a plaintext of <paramref name="plaintextLength"/> bytes.</summary>
    public static int PaddedSize(int plaintextLength)
    {
        if (plaintextLength < 0 || plaintextLength > MaxPlaintextSize)
        {
            throw new ProtocolException(ProtocolError.TooLarge, $"Plaintext is larger than {MaxPlaintextSize} bytes.");
        }

        var needed = plaintextLength + LengthPrefix;
        if (needed <= LinearStep)
        {
            return Math.Max(MinPaddedSize, (int)BitOperations.RoundUpToPowerOf2((uint)needed));
        }

        return (needed + LinearStep - 1) / LinearStep * LinearStep;
    }

    /// <summary>True when <paramref name="size"/> is one of the bucket sizes.</summary>
    public static bool IsBucketSize(int size) =>
        size >= MinPaddedSize && size <= MaxPaddedSize
        && (size <= LinearStep ? BitOperations.IsPow2(size) : size % LinearStep == 0);

    internal static byte[] Pad(ReadOnlySpan<byte> plaintext)
    {
        var padded = new byte[PaddedSize(plaintext.Length)];
        BinaryPrimitives.WriteUInt32BigEndian(padded, (uint)plaintext.Length);
        plaintext.CopyTo(padded.AsSpan(LengthPrefix));
        return padded;
    }

    /// <summary>Strips padding, refusing a length that does not fit or padding that is not all zeros.</summary>
    internal static byte[] Unpad(ReadOnlySpan<byte> padded)
    {
        if (!IsBucketSize(padded.Length))
        {
            throw ProtocolException.Malformed("padded plaintext is not a bucket size");
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(padded);
        if (length > (uint)(padded.Length - LengthPrefix) || PaddedSize((int)length) != padded.Length)
        {
            throw ProtocolException.Malformed("padded plaintext length is inconsistent");
        }

        if (padded[(LengthPrefix + (int)length)..].ContainsAnyExcept((byte)0))
        {
            throw ProtocolException.Malformed("padding is not zero");
        }

        return padded.Slice(LengthPrefix, (int)length).ToArray();
    }
}
