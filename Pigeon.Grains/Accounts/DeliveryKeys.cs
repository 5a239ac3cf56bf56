using System.Security.Cryptography;

namespace Pigeon.Grains.Accounts;

/// <summary>
/// Delivery keys as the server holds them: a verifier, SHA-256 over a label and the key. A delivery
/// key is 32 random bytes (docs/adr/0003-sealed-sender.md), so a plain hash cannot be inverted or
/// searched, and the verifier alone lets nobody deposit.
/// </summary>
internal static class DeliveryKeys
{
    /// <summary>The size of a delivery key.</summary>
    public const int KeyBytes = 32;

    private static ReadOnlySpan<byte> Label => "pigeon delivery key verifier v1"u8;

    /// <summary>The verifier of a delivery key.</summary>
    public static byte[] Verifier(ReadOnlySpan<byte> deliveryKey)
    {
        Span<byte> input = stackalloc byte[Label.Length + deliveryKey.Length];
        Label.CopyTo(input);
        deliveryKey.CopyTo(input[Label.Length..]);
        return SHA256.HashData(input);
    }

    /// <summary>Whether a presented key matches a verifier; the time taken does not depend on where they differ.</summary>
    public static bool Matches(byte[]? verifier, ReadOnlySpan<byte> presented)
    {
        // A wrong length or a missing verifier still costs one hash, like a match.
        var computed = Verifier(presented.Length == KeyBytes ? presented : stackalloc byte[KeyBytes]);
        return verifier is { Length: 32 }
            & presented.Length == KeyBytes
            & CryptographicOperations.FixedTimeEquals(computed, verifier ?? computed.AsSpan(0, 0));
    }
}
