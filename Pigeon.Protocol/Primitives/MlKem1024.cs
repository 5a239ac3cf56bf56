using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Kems;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;

namespace Pigeon.Protocol.Primitives;

/// <summary>ML-KEM-1024 (FIPS 203) through BouncyCastle; private keys are kept as the 64-byte seed (d || z).</summary>
internal static class MlKem1024
{
    public const int SeedSize = 64;
    public const int PublicKeySize = 1568;
    public const int CiphertextSize = 1568;
    public const int SharedSecretSize = 32;

    private static readonly MLKemParameters Parameters = MLKemParameters.ml_kem_1024;

    private static readonly SecureRandom Random = new();

    /// <summary>Generates a fresh seed and its encapsulation key.</summary>
    public static (byte[] Seed, byte[] PublicKey) Generate()
    {
        var seed = RandomNumberGenerator.GetBytes(SeedSize);
        return (seed, PublicKeyFromSeed(seed));
    }

    /// <summary>Expands a seed (FIPS 203 ML-KEM.KeyGen_internal) into a private key.</summary>
    public static MLKemPrivateKeyParameters FromSeed(ReadOnlySpan<byte> seed)
    {
        if (seed.Length != SeedSize)
        {
            throw new ProtocolException(ProtocolError.InvalidKey, "ML-KEM seed must be 64 bytes.");
        }

        return MLKemPrivateKeyParameters.FromSeed(Parameters, seed.ToArray());
    }

    public static byte[] PublicKeyFromSeed(ReadOnlySpan<byte> seed) => FromSeed(seed).GetPublicKeyEncoded();

    /// <summary>Encapsulates to a public key, refusing one that fails the FIPS 203 modulus check.</summary>
    public static void Encapsulate(ReadOnlySpan<byte> publicKey, Span<byte> ciphertext, Span<byte> sharedSecret)
    {
        if (publicKey.Length != PublicKeySize || ciphertext.Length != CiphertextSize || sharedSecret.Length != SharedSecretSize)
        {
            throw new ProtocolException(ProtocolError.InvalidKey, "ML-KEM public key has the wrong size.");
        }

        MLKemPublicKeyParameters key;
        try
        {
            key = MLKemPublicKeyParameters.FromEncoding(Parameters, publicKey.ToArray());
        }
        catch (ArgumentException e)
        {
            throw new ProtocolException(ProtocolError.InvalidKey, "ML-KEM public key is not valid.", e);
        }

        var encapsulator = new MLKemEncapsulator(Parameters);
        encapsulator.Init(new ParametersWithRandom(key, Random));
        encapsulator.Encapsulate(ciphertext, sharedSecret);
    }

    /// <summary>Decapsulates; a ciphertext of the wrong size is refused, a wrong one implicitly rejected (FIPS 203).</summary>
    public static void Decapsulate(ReadOnlySpan<byte> seed, ReadOnlySpan<byte> ciphertext, Span<byte> sharedSecret)
    {
        if (ciphertext.Length != CiphertextSize || sharedSecret.Length != SharedSecretSize)
        {
            throw new ProtocolException(ProtocolError.Malformed, "ML-KEM ciphertext has the wrong size.");
        }

        var decapsulator = new MLKemDecapsulator(Parameters);
        decapsulator.Init(FromSeed(seed));
        decapsulator.Decapsulate(ciphertext, sharedSecret);
    }
}
