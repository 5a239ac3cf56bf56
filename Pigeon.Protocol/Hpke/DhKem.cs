using System.Security.Cryptography;
using NSec.Cryptography;
using Pigeon.Protocol.Primitives;

namespace Pigeon.Protocol.Hpke;

/// <summary>
/// DHKEM(X25519, HKDF-SHA256), KEM id 0x0020 (RFC 9180 §4.1, §7.1), over NSec's X25519. Private keys
/// are NSec keys; public keys and encapsulations are the 32-byte RFC 7748 encodings
/// (SerializePublicKey is the identity, §7.1.1). An all-zero DH output, which libsodium refuses,
/// is the ValidationError of §7.1.4 and surfaces as <see cref="ProtocolError.InvalidKey"/>.
/// </summary>
internal static class DhKem
{
    /// <summary>KEM id of DHKEM(X25519, HKDF-SHA256).</summary>
    public const ushort KemId = 0x0020;

    /// <summary>Nsecret, Nenc, Npk and Nsk are all 32 for this KEM.</summary>
    public const int Size = 32;

    // §4.1: suite_id = concat("KEM", I2OSP(kem_id, 2)).
    private static readonly byte[] SuiteId = [(byte)'K', (byte)'E', (byte)'M', 0x00, 0x20];

    /// <summary>§7.1.3 DeriveKeyPair for X25519: sk = LabeledExpand(LabeledExtract("", "dkp_prk", ikm), "sk", "", Nsk).</summary>
    public static (Key PrivateKey, byte[] PublicKey) DeriveKeyPair(ReadOnlySpan<byte> ikm)
    {
        var prk = HpkeKdf.LabeledExtract(SuiteId, [], "dkp_prk"u8, ikm);
        var sk = HpkeKdf.LabeledExpand(SuiteId, prk, "sk"u8, [], Size);
        CryptographicOperations.ZeroMemory(prk);
        try
        {
            var key = X25519Dh.ImportPrivate(sk);
            return (key, PublicKeyOf(key));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(sk);
        }
    }

    /// <summary>pk(sk) serialized.</summary>
    public static byte[] PublicKeyOf(Key privateKey) => privateKey.PublicKey.Export(KeyBlobFormat.RawPublicKey);

    /// <summary>§4.1 Encap(pkR) with the given ephemeral key pair (GenerateKeyPair in production).</summary>
    public static (byte[] SharedSecret, byte[] Enc) Encap(ReadOnlySpan<byte> recipientPublicKey, Key ephemeral)
    {
        Span<byte> dh = stackalloc byte[Size];
        X25519Dh.Agree(ephemeral, recipientPublicKey, dh);
        var enc = PublicKeyOf(ephemeral);
        var sharedSecret = ExtractAndExpand(dh, [.. enc, .. recipientPublicKey]);
        CryptographicOperations.ZeroMemory(dh);
        return (sharedSecret, enc);
    }

    /// <summary>§4.1 Decap(enc, skR).</summary>
    public static byte[] Decap(ReadOnlySpan<byte> enc, Key recipient)
    {
        Span<byte> dh = stackalloc byte[Size];
        X25519Dh.Agree(recipient, enc, dh);
        var sharedSecret = ExtractAndExpand(dh, [.. enc, .. PublicKeyOf(recipient)]);
        CryptographicOperations.ZeroMemory(dh);
        return sharedSecret;
    }

    /// <summary>§4.1 AuthEncap(pkR, skS): dh = DH(skE, pkR) ‖ DH(skS, pkR), kem_context = enc ‖ pkRm ‖ pkSm.</summary>
    public static (byte[] SharedSecret, byte[] Enc) AuthEncap(ReadOnlySpan<byte> recipientPublicKey, Key sender, Key ephemeral)
    {
        Span<byte> dh = stackalloc byte[2 * Size];
        X25519Dh.Agree(ephemeral, recipientPublicKey, dh[..Size]);
        X25519Dh.Agree(sender, recipientPublicKey, dh[Size..]);
        var enc = PublicKeyOf(ephemeral);
        var sharedSecret = ExtractAndExpand(dh, [.. enc, .. recipientPublicKey, .. PublicKeyOf(sender)]);
        CryptographicOperations.ZeroMemory(dh);
        return (sharedSecret, enc);
    }

    /// <summary>§4.1 AuthDecap(enc, skR, pkS): dh = DH(skR, pkE) ‖ DH(skR, pkS).</summary>
    public static byte[] AuthDecap(ReadOnlySpan<byte> enc, Key recipient, ReadOnlySpan<byte> senderPublicKey)
    {
        Span<byte> dh = stackalloc byte[2 * Size];
        X25519Dh.Agree(recipient, enc, dh[..Size]);
        X25519Dh.Agree(recipient, senderPublicKey, dh[Size..]);
        var sharedSecret = ExtractAndExpand(dh, [.. enc, .. PublicKeyOf(recipient), .. senderPublicKey]);
        CryptographicOperations.ZeroMemory(dh);
        return sharedSecret;
    }

    /// <summary>§4.1 ExtractAndExpand: eae_prk = LabeledExtract("", "eae_prk", dh); LabeledExpand(eae_prk, "shared_secret", kem_context, Nsecret).</summary>
    private static byte[] ExtractAndExpand(ReadOnlySpan<byte> dh, ReadOnlySpan<byte> kemContext)
    {
        var prk = HpkeKdf.LabeledExtract(SuiteId, [], "eae_prk"u8, dh);
        try
        {
            return HpkeKdf.LabeledExpand(SuiteId, prk, "shared_secret"u8, kemContext, Size);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(prk);
        }
    }
}
