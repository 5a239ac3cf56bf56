using NSec.Cryptography;

namespace Pigeon.Protocol.Primitives;

/// <summary>Ed25519 through NSec (libsodium); private keys are the 32-byte RFC 8032 seeds.</summary>
internal static class Ed25519Signer
{
    public const int PublicKeySize = 32;
    public const int PrivateKeySize = 32;
    public const int SignatureSize = 64;

    private static readonly SignatureAlgorithm Algorithm = SignatureAlgorithm.Ed25519;

    /// <summary>Creates a new signing key that can be exported for storage.</summary>
    public static Key Generate() => Key.Create(Algorithm, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });

    /// <summary>Imports a stored 32-byte seed.</summary>
    public static Key Import(ReadOnlySpan<byte> privateKey)
    {
        if (privateKey.Length != PrivateKeySize || !Key.TryImport(Algorithm, privateKey, KeyBlobFormat.RawPrivateKey, out var key, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport }) || key is null)
        {
            throw new ProtocolException(ProtocolError.InvalidState, "Ed25519 private key is not valid.");
        }

        return key;
    }

    public static byte[] Sign(Key key, ReadOnlySpan<byte> message) => Algorithm.Sign(key, message);

    /// <summary>Verifies; any malformed key or signature is simply "false".</summary>
    public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        if (publicKey.Length != PublicKeySize || signature.Length != SignatureSize)
        {
            return false;
        }

        if (!PublicKey.TryImport(Algorithm, publicKey, KeyBlobFormat.RawPublicKey, out var key) || key is null)
        {
            return false;
        }

        return Algorithm.Verify(key, message, signature);
    }
}
