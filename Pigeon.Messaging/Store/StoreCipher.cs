using System.Security.Cryptography;
using System.Text;
using Pigeon.Protocol.Storage;

namespace Pigeon.Messaging.Store;

/// <summary>
/// Seals the secret columns of the profile store. With a passphrase: AES-256-GCM under a key from
/// Argon2id (<see cref="PassphraseKey"/>) over the passphrase and the profile's random salt; each
/// value is <c>0x01 ‖ nonce 12 ‖ ciphertext ‖ tag 16</c> with the column's purpose as associated
/// data, so a value moved to another column does not open. Without one: <c>0x00 ‖ plaintext</c>.
/// </summary>
internal sealed class StoreCipher : IDisposable
{
    private const byte Plain = 0;
    private const byte Sealed = 1;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private static readonly byte[] KeyCheckPlaintext = "pigeon key check v1"u8.ToArray();
    private readonly AesGcm? _aes;

    private StoreCipher(byte[]? key)
    {
        if (key is not null)
        {
            _aes = new AesGcm(key, TagSize);
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>True when values are encrypted.</summary>
    public bool IsEncrypted => _aes is not null;

    /// <summary>A cipher that stores values as they are.</summary>
    public static StoreCipher Unencrypted() => new(null);

    /// <summary>Derives the key from the passphrase (slow by design: Argon2id).</summary>
    public static StoreCipher FromPassphrase(string passphrase, byte[] salt, PassphraseKeyParameters parameters) =>
        new(PassphraseKey.Derive(passphrase, salt, parameters));

    /// <summary>A value that only the right key opens: stored so a wrong passphrase is refused before anything is read or written.</summary>
    public byte[] CreateKeyCheck() => Seal(KeyCheckPlaintext, "key-check");

    /// <summary>Refuses a key that does not open <paramref name="keyCheck"/>.</summary>
    public void VerifyKeyCheck(byte[] keyCheck)
    {
        try
        {
            if (!Open(keyCheck, "key-check").AsSpan().SequenceEqual(KeyCheckPlaintext))
            {
                throw new CryptographicException();
            }
        }
        catch (CryptographicException exception)
        {
            throw new ProfileLockedException(LockedReason.WrongPassphrase, exception);
        }
    }

    /// <summary>Seals a value for the column named by <paramref name="purpose"/>.</summary>
    public byte[] Seal(ReadOnlySpan<byte> plaintext, string purpose)
    {
        if (_aes is null)
        {
            var plain = new byte[1 + plaintext.Length];
            plain[0] = Plain;
            plaintext.CopyTo(plain.AsSpan(1));
            return plain;
        }
        var output = new byte[1 + NonceSize + plaintext.Length + TagSize];
        output[0] = Sealed;
        var nonce = output.AsSpan(1, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        _aes.Encrypt(nonce, plaintext, output.AsSpan(1 + NonceSize, plaintext.Length), output.AsSpan(1 + NonceSize + plaintext.Length), Encoding.UTF8.GetBytes(purpose));
        return output;
    }

    /// <summary>Opens a value sealed for <paramref name="purpose"/>.</summary>
    /// <exception cref="CryptographicException">The value was altered, sealed for another purpose or under another key.</exception>
    public byte[] Open(ReadOnlySpan<byte> stored, string purpose)
    {
        if (stored.Length == 0)
        {
            throw new CryptographicException("An empty stored value.");
        }
        if (stored[0] == Plain && _aes is null)
        {
            return stored[1..].ToArray();
        }
        if (stored[0] != Sealed || _aes is null || stored.Length < 1 + NonceSize + TagSize)
        {
            throw new CryptographicException("A stored value is not in the profile's format.");
        }
        var ciphertext = stored[(1 + NonceSize)..^TagSize];
        var plaintext = new byte[ciphertext.Length];
        _aes.Decrypt(stored.Slice(1, NonceSize), ciphertext, stored[^TagSize..], plaintext, Encoding.UTF8.GetBytes(purpose));
        return plaintext;
    }

    public void Dispose() => _aes?.Dispose();
}
