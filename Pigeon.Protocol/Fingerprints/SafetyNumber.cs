using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Pigeon.Protocol.Identity;

namespace Pigeon.Protocol.Fingerprints;

/// <summary>
/// Numeric fingerprints ("safety numbers"), version 1 of Signal's algorithm: per party, 5200 rounds
/// of SHA-512 over (0x00 0x00 || key || id || key), then (h || key); the first 30 bytes become six
/// 5-digit groups; the two 30-digit halves are shown smaller first, so both parties see the same 60 digits.
/// </summary>
public static class SafetyNumber
{
    /// <summary>Signal's iteration count.</summary>
    public const int DefaultIterations = 5200;

    private static readonly byte[] Version = [0x00, 0x00];

    /// <summary>The 60-digit number for two parties' raw key bytes and id bytes (the algorithm itself).</summary>
    public static string Compute(ReadOnlySpan<byte> localKey, ReadOnlySpan<byte> localId, ReadOnlySpan<byte> remoteKey, ReadOnlySpan<byte> remoteId, int iterations = DefaultIterations)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        var local = HalfFor(localKey, localId, iterations);
        var remote = HalfFor(remoteKey, remoteId, iterations);
        return string.CompareOrdinal(local, remote) <= 0 ? local + remote : remote + local;
    }

    /// <summary>
    /// The safety number of two Pigeon identities: each party's key is its signing key followed by its
    /// agreement key (64 bytes), its id the ASCII bytes of its account id.
    /// </summary>
    public static string Compute(PublicIdentity local, PublicIdentity remote)
    {
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(remote);
        return Compute(
            [.. local.SigningKey, .. local.AgreementKey],
            Encoding.ASCII.GetBytes(local.AccountId),
            [.. remote.SigningKey, .. remote.AgreementKey],
            Encoding.ASCII.GetBytes(remote.AccountId));
    }

    /// <summary>Formats the 60 digits as twelve groups of five, as apps display them.</summary>
    public static string Format(string safetyNumber)
    {
        ArgumentNullException.ThrowIfNull(safetyNumber);
        return string.Join(' ', safetyNumber.Chunk(5).Select(c => new string(c)));
    }

    private static string HalfFor(ReadOnlySpan<byte> key, ReadOnlySpan<byte> id, int iterations)
    {
        byte[] hash;
        using (var first = IncrementalHash.CreateHash(HashAlgorithmName.SHA512))
        {
            first.AppendData(Version);
            first.AppendData(key);
            first.AppendData(id);
            first.AppendData(key);
            hash = first.GetHashAndReset();
            for (var i = 1; i < iterations; i++)
            {
                first.AppendData(hash);
                first.AppendData(key);
                hash = first.GetHashAndReset();
            }
        }

        var digits = new StringBuilder(30);
        Span<byte> eight = stackalloc byte[8];
        for (var chunk = 0; chunk < 6; chunk++)
        {
            hash.AsSpan(chunk * 5, 5).CopyTo(eight[3..]);
            var value = BinaryPrimitives.ReadUInt64BigEndian(eight) % 100000;
            digits.Append(value.ToString("D5", System.Globalization.CultureInfo.InvariantCulture));
        }

        return digits.ToString();
    }
}
