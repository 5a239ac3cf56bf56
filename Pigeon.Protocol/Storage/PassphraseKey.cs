using NSec.Cryptography;

namespace Pigeon.Protocol.Storage;

/// <summary>Argon2id cost parameters (RFC 9106). Memory is in KiB; libsodium supports one lane only.</summary>
/// <param name="MemoryKiB">Memory cost in kibibytes.</param>
/// <param name="Iterations">Number of passes.</param>
public sealed record PassphraseKeyParameters(long MemoryKiB, long Iterations)
{
    /// <summary>RFC 9106 §4 second recommendation (64 MiB, 3 passes); the default for the client's store.</summary>
    public static PassphraseKeyParameters Default { get; } = new(64 * 1024, 3);
}

/// <summary>Derives the key that encrypts the client's store at rest from a passphrase, with Argon2id (NSec/libsodium).</summary>
public static class PassphraseKey
{
    /// <summary>Size of the derived key.</summary>
    public const int KeySize = 32;

    /// <summary>Salt size to use (libsodium requires exactly 16 bytes).</summary>
    public const int SaltSize = 16;

    /// <summary>Derives a 32-byte key; the caller should zero it after use.</summary>
    /// <exception cref="ArgumentException">The salt is not 16 bytes or the parameters are out of libsodium's range.</exception>
    public static byte[] Derive(string passphrase, ReadOnlySpan<byte> salt, PassphraseKeyParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(passphrase);
        ArgumentNullException.ThrowIfNull(parameters);
        if (salt.Length != SaltSize)
        {
            throw new ArgumentException($"The salt must be {SaltSize} bytes.", nameof(salt));
        }

        var algorithm = PasswordBasedKeyDerivationAlgorithm.Argon2id(new Argon2Parameters
        {
            DegreeOfParallelism = 1,
            MemorySize = parameters.MemoryKiB,
            NumberOfPasses = parameters.Iterations,
        });
        return algorithm.DeriveBytes(passphrase, salt, KeySize);
    }
}
