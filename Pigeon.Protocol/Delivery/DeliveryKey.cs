using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Pigeon.Protocol.Storage;

namespace Pigeon.Protocol.Delivery;

/// <summary>
/// An account's delivery key (ADR 0003): a random 256-bit secret its owner gives its contacts inside
/// the end-to-end encrypted channel, so they can deposit sealed envelopes without identifying
/// themselves. The server keeps only <see cref="DeliveryKeyVerifier"/>'s hash of it. The owner makes a
/// new one (the next <see cref="Epoch"/>) and gives it to the remaining contacts whenever it removes or
/// blocks one. Encoded for contacts as epoch (u32, big-endian) ‖ key (32).
/// </summary>
public sealed class DeliveryKey
{
    /// <summary>Size of the secret.</summary>
    public const int KeySize = 32;

    /// <summary>Size of <see cref="ToBytes"/>.</summary>
    public const int EncodedSize = 4 + KeySize;

    private readonly byte[] _key;

    private DeliveryKey(uint epoch, byte[] key)
    {
        Epoch = epoch;
        _key = key;
    }

    /// <summary>Which key of the account this is; each rotation takes the next.</summary>
    public uint Epoch { get; }

    /// <summary>The secret, as a deposit presents it.</summary>
    public ReadOnlySpan<byte> Key => _key;

    /// <summary>A new random key for <paramref name="epoch"/>.</summary>
    public static DeliveryKey Generate(uint epoch) => new(epoch, RandomNumberGenerator.GetBytes(KeySize));

    /// <summary>The key that replaces this one (the next epoch), for a rotation.</summary>
    public DeliveryKey Rotate() => Generate(checked(Epoch + 1));

    /// <summary>The verifier the owner registers with the server for this key.</summary>
    public byte[] Verifier(string accountId) => DeliveryKeyVerifier.Derive(accountId, Epoch, _key);

    /// <summary>The encoding a contact receives inside the encrypted channel.</summary>
    public byte[] ToBytes()
    {
        var bytes = new byte[EncodedSize];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, Epoch);
        _key.CopyTo(bytes, 4);
        return bytes;
    }

    /// <summary>Parses <see cref="ToBytes"/>.</summary>
    /// <exception cref="ProtocolException"><see cref="ProtocolError.Malformed"/>.</exception>
    public static DeliveryKey FromBytes(ReadOnlySpan<byte> data)
    {
        var reader = new BlobReader(data, ProtocolError.Malformed);
        var epoch = reader.ReadUInt32();
        var key = reader.ReadFixedArray(KeySize);
        reader.EnsureEnd();
        return new DeliveryKey(epoch, key);
    }
}

/// <summary>
/// What the server keeps of a delivery key, in the account grain: verifier = SHA-256(
/// "Pigeon/2/delivery-key-verifier" 0x00 ‖ account id (32 ASCII) ‖ epoch (u32) ‖ key). One-way, and
/// bound to the account and epoch, so a verifier neither reveals the key nor serves another account.
/// A plain hash suffices: the key has 256 bits of entropy, so there is nothing to guess.
/// </summary>
public static class DeliveryKeyVerifier
{
    /// <summary>Size of a verifier.</summary>
    public const int Size = SHA256.HashSizeInBytes;

    private static readonly byte[] Label = Encoding.ASCII.GetBytes("Pigeon/2/delivery-key-verifier\0");

    /// <summary>The verifier of <paramref name="key"/> for <paramref name="accountId"/>'s epoch <paramref name="epoch"/>.</summary>
    /// <exception cref="ArgumentException">The account id is not well-formed or the key is not 32 bytes.</exception>
    public static byte[] Derive(string accountId, uint epoch, ReadOnlySpan<byte> key)
    {
        if (!Identity.AccountId.IsWellFormed(accountId) || key.Length != DeliveryKey.KeySize)
        {
            throw new ArgumentException("A verifier needs a well-formed account id and a 32-byte key.");
        }

        return Hash(accountId, epoch, key);
    }

    /// <summary>
    /// True when <paramref name="presentedKey"/> is the key behind <paramref name="storedVerifier"/>. The
    /// work and the comparison take the same time whatever is presented, wrong sizes and a malformed
    /// account id included. For an unknown recipient, compare against <see cref="Decoy"/>: the answer and
    /// its timing are then those of a wrong key, so the route tells nobody which accounts exist.
    /// </summary>
    public static bool Matches(ReadOnlySpan<byte> storedVerifier, string accountId, uint epoch, ReadOnlySpan<byte> presentedKey)
    {
        Span<byte> key = stackalloc byte[DeliveryKey.KeySize];
        presentedKey[..Math.Min(presentedKey.Length, key.Length)].CopyTo(key);
        Span<byte> stored = stackalloc byte[Size];
        storedVerifier[..Math.Min(storedVerifier.Length, Size)].CopyTo(stored);
        var computed = Hash(Identity.AccountId.IsWellFormed(accountId) ? accountId : new string('a', Identity.AccountId.Length), epoch, key);
        var equal = CryptographicOperations.FixedTimeEquals(computed, stored);
        return equal
            & presentedKey.Length == DeliveryKey.KeySize
            & storedVerifier.Length == Size
            & Identity.AccountId.IsWellFormed(accountId);
    }

    /// <summary>A verifier no key matches, for recipients that do not exist (see <see cref="Matches"/>).</summary>
    public static byte[] Decoy() => RandomNumberGenerator.GetBytes(Size);

    private static byte[] Hash(string accountId, uint epoch, ReadOnlySpan<byte> key)
    {
        Span<byte> input = stackalloc byte[Label.Length + Identity.AccountId.Length + 4 + DeliveryKey.KeySize];
        Label.CopyTo(input);
        Encoding.ASCII.GetBytes(accountId, input[Label.Length..]);
        BinaryPrimitives.WriteUInt32BigEndian(input[(Label.Length + Identity.AccountId.Length)..], epoch);
        key.CopyTo(input[(Label.Length + Identity.AccountId.Length + 4)..]);
        var hash = SHA256.HashData(input);
        CryptographicOperations.ZeroMemory(input);
        return hash;
    }
}
