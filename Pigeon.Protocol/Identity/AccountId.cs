using System.Security.Cryptography;
using System.Text;

namespace Pigeon.Protocol.Identity;

/// <summary>
/// Self-certifying account ids: lowercase RFC 4648 base32 (no padding) of the first 20 bytes (160 bits)
/// of SHA-256("Pigeon/1/account-id" 0x00 || Ed25519 signing public key || X25519 agreement public key).
/// Always 32 characters of <c>a-z2-7</c>.
/// </summary>
public static class AccountId
{
    /// <summary>Length of an account id in characters.</summary>
    public const int Length = 32;

    private const int HashBytes = 20;

    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz234567";

    private static readonly byte[] Domain = Encoding.ASCII.GetBytes("Pigeon/1/account-id\0");

    /// <summary>Derives the account id of an identity's two public keys.</summary>
    /// <exception cref="ProtocolException">A key is not 32 bytes (<see cref="ProtocolError.InvalidKey"/>).</exception>
    public static string Derive(ReadOnlySpan<byte> signingPublicKey, ReadOnlySpan<byte> agreementPublicKey)
    {
        if (signingPublicKey.Length != ProtocolInfo.PublicKeySize || agreementPublicKey.Length != ProtocolInfo.PublicKeySize)
        {
            throw new ProtocolException(ProtocolError.InvalidKey, "Identity public keys must be 32 bytes each.");
        }

        Span<byte> input = stackalloc byte[Domain.Length + (2 * ProtocolInfo.PublicKeySize)];
        Domain.CopyTo(input);
        signingPublicKey.CopyTo(input[Domain.Length..]);
        agreementPublicKey.CopyTo(input[(Domain.Length + ProtocolInfo.PublicKeySize)..]);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(input, hash);
        return EncodeBase32(hash[..HashBytes]);
    }

    /// <summary>
    /// True when <paramref name="accountId"/> is the id of these keys. The comparison is constant-time;
    /// a malformed id or wrong-sized key is simply "false".
    /// </summary>
    public static bool Matches(string accountId, ReadOnlySpan<byte> signingPublicKey, ReadOnlySpan<byte> agreementPublicKey)
    {
        if (!IsWellFormed(accountId)
            || signingPublicKey.Length != ProtocolInfo.PublicKeySize
            || agreementPublicKey.Length != ProtocolInfo.PublicKeySize)
        {
            return false;
        }

        var expected = Derive(signingPublicKey, agreementPublicKey);
        Span<byte> a = stackalloc byte[Length];
        Span<byte> b = stackalloc byte[Length];
        Encoding.ASCII.GetBytes(expected, a);
        Encoding.ASCII.GetBytes(accountId, b);
        return CryptographicOperations.FixedTimeEquals(a, b);
    }

    /// <summary>Syntax only: 32 characters of lowercase base32. Says nothing about whether the account exists.</summary>
    public static bool IsWellFormed(string? accountId)
    {
        if (accountId is null || accountId.Length != Length)
        {
            return false;
        }

        foreach (var c in accountId)
        {
            if (!((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7')))
            {
                return false;
            }
        }

        return true;
    }

    private static string EncodeBase32(ReadOnlySpan<byte> data)
    {
        // 20 bytes = 160 bits = exactly 32 five-bit groups, so there is never padding.
        var chars = new char[data.Length * 8 / 5];
        var buffer = 0;
        var bits = 0;
        var index = 0;
        foreach (var b in data)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                bits -= 5;
                chars[index++] = Alphabet[(buffer >> bits) & 31];
            }
        }

        return new string(chars);
    }
}
