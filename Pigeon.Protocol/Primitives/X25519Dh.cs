using System.Security.Cryptography;
using NSec.Cryptography;

namespace Pigeon.Protocol.Primitives;

/// <summary>X25519 through NSec (libsodium), with keys held as raw bytes so state can be serialized.</summary>
internal static class X25519Dh
{
    public const int KeySize = 32;

    private static readonly KeyAgreementAlgorithm Algorithm = KeyAgreementAlgorithm.X25519;

    /// <summary>Generates a key pair; the caller owns (and should zero) the private half.</summary>
    public static (byte[] PrivateKey, byte[] PublicKey) Generate()
    {
        using var key = CreateKey();
        return Export(key);
    }

    /// <summary>
    /// A new key held by libsodium, for callers that agree with it more than once: importing a raw key
    /// allocates guarded native memory, which costs more than the agreement itself.
    /// </summary>
    public static Key CreateKey() => Key.Create(Algorithm, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });

    public static (byte[] PrivateKey, byte[] PublicKey) Export(Key key) =>
        (key.Export(KeyBlobFormat.RawPrivateKey), key.PublicKey.Export(KeyBlobFormat.RawPublicKey));

    /// <summary>
    /// X25519(privateKey, publicKey) into <paramref name="output"/>. libsodium refuses an all-zero result
    /// (a low-order peer key, RFC 7748 §6.1); that and any malformed key become <see cref="ProtocolError.InvalidKey"/>.
    /// </summary>
    public static void Agree(ReadOnlySpan<byte> privateKey, ReadOnlySpan<byte> publicKey, Span<byte> output)
    {
        using var key = ImportPrivate(privateKey);
        Agree(key, publicKey, output);
    }

    /// <inheritdoc cref="Agree(ReadOnlySpan{byte}, ReadOnlySpan{byte}, Span{byte})"/>
    public static void Agree(Key key, ReadOnlySpan<byte> publicKey, Span<byte> output)
    {
        if (publicKey.Length != KeySize || !PublicKey.TryImport(Algorithm, publicKey, KeyBlobFormat.RawPublicKey, out var peer) || peer is null)
        {
            throw new ProtocolException(ProtocolError.InvalidKey, "X25519 public key is not valid.");
        }

        using var secret = Algorithm.Agree(key, peer, new SharedSecretCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport })
            ?? throw new ProtocolException(ProtocolError.InvalidKey, "X25519 agreement produced a low-order result.");
        if (!secret.TryExport(SharedSecretBlobFormat.RawSharedSecret, output, out var written) || written != KeySize)
        {
            throw new ProtocolException(ProtocolError.InvalidKey, "X25519 shared secret could not be exported.");
        }
    }

    /// <summary>Agreement returning a new array (for tests and one-off use).</summary>
    public static byte[] Agree(ReadOnlySpan<byte> privateKey, ReadOnlySpan<byte> publicKey)
    {
        var output = new byte[KeySize];
        Agree(privateKey, publicKey, output);
        return output;
    }

    /// <summary>True when the bytes import as an X25519 public key.</summary>
    public static bool IsValidPublicKey(ReadOnlySpan<byte> publicKey) =>
        publicKey.Length == KeySize && PublicKey.TryImport(Algorithm, publicKey, KeyBlobFormat.RawPublicKey, out _);

    public static Key ImportPrivate(ReadOnlySpan<byte> privateKey)
    {
        if (privateKey.Length != KeySize || !Key.TryImport(Algorithm, privateKey, KeyBlobFormat.RawPrivateKey, out var key, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport }) || key is null)
        {
            throw new ProtocolException(ProtocolError.InvalidState, "X25519 private key is not valid.");
        }

        return key;
    }

    /// <summary>Zeroes a private key buffer.</summary>
    public static void Erase(byte[]? buffer)
    {
        if (buffer is not null)
        {
            CryptographicOperations.ZeroMemory(buffer);
        }
    }
}
