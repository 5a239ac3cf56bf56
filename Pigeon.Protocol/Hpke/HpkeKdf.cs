using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Pigeon.Protocol.Hpke;

/// <summary>
/// HKDF-SHA256 (KDF id 0x0001) with RFC 9180 §4's labelled wrappers, from .NET's HKDF. The suite id
/// says where the KDF is used: "KEM" ‖ kem_id inside the KEM, "HPKE" ‖ kem_id ‖ kdf_id ‖ aead_id elsewhere.
/// </summary>
internal static class HpkeKdf
{
    /// <summary>KDF id of HKDF-SHA256 (RFC 9180 §7.2).</summary>
    public const ushort KdfId = 0x0001;

    /// <summary>Nh: the output size of Extract.</summary>
    public const int HashSize = 32;

    private static readonly byte[] Version = "HPKE-v1"u8.ToArray();

    /// <summary>§4: LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" ‖ suite_id ‖ label ‖ ikm).</summary>
    public static byte[] LabeledExtract(ReadOnlySpan<byte> suiteId, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> label, ReadOnlySpan<byte> ikm)
    {
        var labeledIkm = new byte[Version.Length + suiteId.Length + label.Length + ikm.Length];
        var span = labeledIkm.AsSpan();
        Version.CopyTo(span);
        suiteId.CopyTo(span[Version.Length..]);
        label.CopyTo(span[(Version.Length + suiteId.Length)..]);
        ikm.CopyTo(span[(Version.Length + suiteId.Length + label.Length)..]);
        var prk = new byte[HashSize];
        // RFC 5869 §2.2: an empty salt is HashLen zero bytes, which .NET's HKDF applies itself.
        HKDF.Extract(HashAlgorithmName.SHA256, labeledIkm, salt, prk);
        CryptographicOperations.ZeroMemory(labeledIkm);
        return prk;
    }

    /// <summary>§4: LabeledExpand(prk, label, info, L) = Expand(prk, I2OSP(L, 2) ‖ "HPKE-v1" ‖ suite_id ‖ label ‖ info, L).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is over 255 × Nh or over 2^16 − 1.</exception>
    public static byte[] LabeledExpand(ReadOnlySpan<byte> suiteId, ReadOnlySpan<byte> prk, ReadOnlySpan<byte> label, ReadOnlySpan<byte> info, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, 255 * HashSize);
        var labeledInfo = new byte[2 + Version.Length + suiteId.Length + label.Length + info.Length];
        var span = labeledInfo.AsSpan();
        BinaryPrimitives.WriteUInt16BigEndian(span, (ushort)length);
        Version.CopyTo(span[2..]);
        suiteId.CopyTo(span[(2 + Version.Length)..]);
        label.CopyTo(span[(2 + Version.Length + suiteId.Length)..]);
        info.CopyTo(span[(2 + Version.Length + suiteId.Length + label.Length)..]);
        var output = new byte[length];
        HKDF.Expand(HashAlgorithmName.SHA256, prk, output, labeledInfo);
        return output;
    }
}
