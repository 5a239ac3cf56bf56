using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using Pigeon.Protocol.Storage;

namespace Pigeon.Messaging.Store;

/// <summary>The salt and Argon2id cost with which a passphrase protects a profile's store key.</summary>
internal sealed record PassphraseSettings(byte[] Salt, PassphraseKeyParameters Parameters)
{
    /// <summary>New settings with a fresh random salt.</summary>
    public static PassphraseSettings New(PassphraseKeyParameters parameters) => new(RandomNumberGenerator.GetBytes(PassphraseKey.SaltSize), parameters);
}

/// <summary>
/// How the store key is kept in the file's header (column <c>header.store_key</c>): without a
/// passphrase, <c>0x00 ‖ key</c>, so anyone with the file opens everything; with one,
/// <c>0x01 ‖ nonce 12 ‖ AES-256-GCM(KEK, key) ‖ tag 16</c>, where KEK = Argon2id(passphrase, salt, cost)
/// and the associated data binds the salt and the cost. A wrong passphrase fails the tag before
/// anything is read. Each (passphrase, salt, cost) is derived once per process (<see cref="Forget"/>
/// clears the memory of it).
/// </summary>
internal static class StoreKeyProtection
{
    private const byte Plain = 0;
    private const byte Wrapped = 1;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private static readonly byte[] Label = "Pigeon/store/2/store-key"u8.ToArray();
    private static readonly ConcurrentDictionary<string, byte[]> DerivedKeys = new();
    private static readonly ConcurrentDictionary<string, int> DerivationsBySalt = new();

    /// <summary>The header value for <paramref name="storeKey"/>, under <paramref name="passphrase"/> when one is given.</summary>
    public static byte[] Protect(ReadOnlySpan<byte> storeKey, string? passphrase, PassphraseSettings? settings)
    {
        if (passphrase is null || settings is null)
        {
            return [Plain, .. storeKey];
        }

        var kek = Derive(passphrase, settings);
        using var aes = new AesGcm(kek, TagSize);
        CryptographicOperations.ZeroMemory(kek);
        var output = new byte[1 + NonceSize + storeKey.Length + TagSize];
        output[0] = Wrapped;
        RandomNumberGenerator.Fill(output.AsSpan(1, NonceSize));
        aes.Encrypt(output.AsSpan(1, NonceSize), storeKey, output.AsSpan(1 + NonceSize, storeKey.Length), output.AsSpan(1 + NonceSize + storeKey.Length), AssociatedData(settings));
        return output;
    }

    /// <summary>The store key from the header; the caller zeroes it.</summary>
    /// <exception cref="ProfileLockedException">No passphrase came for a protected key, or the wrong one.</exception>
    public static byte[] Unprotect(byte[] stored, PassphraseSettings? settings, Func<string?> passphrase)
    {
        if (stored.Length == 1 + StoreCipher.KeySize && stored[0] == Plain && settings is null)
        {
            return stored[1..];
        }

        if (stored.Length != 1 + NonceSize + StoreCipher.KeySize + TagSize || stored[0] != Wrapped || settings is null)
        {
            throw new ProfileDamagedException("header", new CryptographicException("The store key is not in the profile's format."));
        }

        var given = passphrase() ?? throw new ProfileLockedException(LockedReason.PassphraseMissing);
        var kek = Derive(given, settings);
        try
        {
            using var aes = new AesGcm(kek, TagSize);
            var key = new byte[StoreCipher.KeySize];
            aes.Decrypt(stored.AsSpan(1, NonceSize), stored.AsSpan(1 + NonceSize, StoreCipher.KeySize), stored.AsSpan(1 + NonceSize + StoreCipher.KeySize), key, AssociatedData(settings));
            return key;
        }
        catch (CryptographicException exception)
        {
            Forget(given, settings);
            throw new ProfileLockedException(LockedReason.WrongPassphrase, exception);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(kek);
        }
    }

    /// <summary>How many times this process ran Argon2id for a profile's salt (for tests).</summary>
    internal static int Derivations(byte[] salt) => DerivationsBySalt.GetValueOrDefault(Convert.ToHexString(salt));

    /// <summary>Forgets every key derived in this process, so the next unlock runs Argon2id again.</summary>
    public static void ForgetAll()
    {
        foreach (var key in DerivedKeys.Keys)
        {
            if (DerivedKeys.TryRemove(key, out var kek))
            {
                CryptographicOperations.ZeroMemory(kek);
            }
        }
    }

    // Argon2id is slow by design: a process that opens a profile again (a chat's reconnects, the
    // tests' many commands) derives each key once.
    private static byte[] Derive(string passphrase, PassphraseSettings settings)
    {
        var kek = DerivedKeys.GetOrAdd(CacheKey(passphrase, settings), _ =>
        {
            DerivationsBySalt.AddOrUpdate(Convert.ToHexString(settings.Salt), 1, (_, count) => count + 1);
            return PassphraseKey.Derive(passphrase, settings.Salt, settings.Parameters);
        });
        return (byte[])kek.Clone();
    }

    private static void Forget(string passphrase, PassphraseSettings settings)
    {
        if (DerivedKeys.TryRemove(CacheKey(passphrase, settings), out var kek))
        {
            CryptographicOperations.ZeroMemory(kek);
        }
    }

    // A hash, so the passphrase itself is not kept as a dictionary key.
    private static string CacheKey(string passphrase, PassphraseSettings settings) =>
        Convert.ToHexString(SHA256.HashData([.. AssociatedData(settings), .. System.Text.Encoding.UTF8.GetBytes(passphrase)]));

    private static byte[] AssociatedData(PassphraseSettings settings)
    {
        var ad = new byte[Label.Length + settings.Salt.Length + 16];
        Label.CopyTo(ad, 0);
        settings.Salt.CopyTo(ad, Label.Length);
        BinaryPrimitives.WriteInt64BigEndian(ad.AsSpan(Label.Length + settings.Salt.Length), settings.Parameters.MemoryKiB);
        BinaryPrimitives.WriteInt64BigEndian(ad.AsSpan(Label.Length + settings.Salt.Length + 8), settings.Parameters.Iterations);
        return ad;
    }
}
