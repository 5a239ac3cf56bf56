using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Pigeon.Messaging.Store;

/// <summary>
/// Seals the rows of the profile store under its store key (32 random bytes, see
/// <see cref="StoreKeyProtection"/>). Two keys come from it by HKDF-SHA256: a sealing key for
/// AES-256-GCM, each value <c>nonce 12 ‖ ciphertext ‖ tag 16</c> with the row's associated data
/// (format, table, row key, version: <see cref="AssociatedData"/>), and a lookup key for
/// <see cref="Lookup"/>, the keyed hash that stands in for an account or message id in a column.
/// </summary>
internal sealed class StoreCipher : IDisposable
{
    /// <summary>Size of the store key.</summary>
    public const int KeySize = 32;

    /// <summary>Size of a lookup hash.</summary>
    public const int LookupSize = 16;

    private const int NonceSize = 12;
    private const int TagSize = 16;
    private static readonly byte[] SealInfo = "Pigeon/store/2/seal"u8.ToArray();
    private static readonly byte[] LookupInfo = "Pigeon/store/2/lookup"u8.ToArray();
    private static readonly byte[] Format = "Pigeon/store/2"u8.ToArray();
    private readonly AesGcm _aes;
    private readonly byte[] _lookupKey;

    /// <summary>A cipher over <paramref name="storeKey"/> (which the caller may zero afterwards).</summary>
    public StoreCipher(ReadOnlySpan<byte> storeKey)
    {
        if (storeKey.Length != KeySize)
        {
            throw new ArgumentException($"A store key is {KeySize} bytes.", nameof(storeKey));
        }

        var sealKey = new byte[KeySize];
        try
        {
            HKDF.Expand(HashAlgorithmName.SHA256, storeKey, sealKey, SealInfo);
            _aes = new AesGcm(sealKey, TagSize);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(sealKey);
        }

        _lookupKey = new byte[KeySize];
        HKDF.Expand(HashAlgorithmName.SHA256, storeKey, _lookupKey, LookupInfo);
    }

    /// <summary>
    /// The associated data of a row: the store format, the table, the row's key (whatever identifies
    /// it in its table) and its version, so a value copied to another table or row, or back from an
    /// earlier version of its own row, does not open.
    /// </summary>
    public static byte[] AssociatedData(string table, ReadOnlySpan<byte> rowKey, long version)
    {
        var tableBytes = Encoding.UTF8.GetBytes(table);
        var ad = new byte[Format.Length + 1 + tableBytes.Length + 1 + 4 + rowKey.Length + 8];
        var span = ad.AsSpan();
        Format.CopyTo(span);
        span = span[(Format.Length + 1)..];
        tableBytes.CopyTo(span);
        span = span[(tableBytes.Length + 1)..];
        BinaryPrimitives.WriteInt32BigEndian(span, rowKey.Length);
        rowKey.CopyTo(span[4..]);
        BinaryPrimitives.WriteInt64BigEndian(span[(4 + rowKey.Length)..], version);
        return ad;
    }

    /// <summary>The keyed hash (HMAC-SHA256 under the lookup key, 16 bytes) of <paramref name="value"/> in namespace <paramref name="kind"/>.</summary>
    public byte[] Lookup(string kind, string value)
    {
        var input = Encoding.UTF8.GetBytes(kind + "\0" + value);
        return HMACSHA256.HashData(_lookupKey, input)[..LookupSize];
    }

    /// <summary>Seals <paramref name="plaintext"/> with <paramref name="associatedData"/>.</summary>
    public byte[] Seal(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        var output = new byte[NonceSize + plaintext.Length + TagSize];
        var nonce = output.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        _aes.Encrypt(nonce, plaintext, output.AsSpan(NonceSize, plaintext.Length), output.AsSpan(NonceSize + plaintext.Length), associatedData);
        return output;
    }

    /// <summary>Opens a value sealed with <paramref name="associatedData"/>.</summary>
    /// <exception cref="CryptographicException">The value was altered, moved, rolled back or sealed under another key.</exception>
    public byte[] Open(ReadOnlySpan<byte> stored, ReadOnlySpan<byte> associatedData)
    {
        if (stored.Length < NonceSize + TagSize)
        {
            throw new CryptographicException("A stored value is too short.");
        }

        var ciphertext = stored[NonceSize..^TagSize];
        var plaintext = new byte[ciphertext.Length];
        _aes.Decrypt(stored[..NonceSize], ciphertext, stored[^TagSize..], plaintext, associatedData);
        return plaintext;
    }

    public void Dispose()
    {
        _aes.Dispose();
        CryptographicOperations.ZeroMemory(_lookupKey);
    }
}
