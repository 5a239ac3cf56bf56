using System.Buffers.Binary;
using System.Security.Cryptography;
using NSec.Cryptography;
using Pigeon.Protocol.Primitives;

namespace Pigeon.Protocol.Hpke;

/// <summary>HPKE modes (RFC 9180 §5, Table 1). The PSK modes are not offered: Pigeon has no pre-shared keys.</summary>
internal enum HpkeMode : byte
{
    /// <summary>mode_base: encryption to a public key (§5.1.1).</summary>
    Base = 0x00,

    /// <summary>mode_auth: the sender is authenticated by its KEM private key (§5.1.3).</summary>
    Auth = 0x02,
}

/// <summary>
/// Hybrid Public Key Encryption, RFC 9180, with KEM DHKEM(X25519, HKDF-SHA256), KDF HKDF-SHA256 and
/// AEAD AES-128-GCM or ChaCha20-Poly1305, in modes base and auth: the setup functions of §5.1, the
/// single-shot API of §6, and (through the returned contexts) multi-message encryption with sequence
/// numbers (§5.2) and the secret exporter (§5.3). Built from NSec (X25519) and .NET (HKDF, AES-GCM,
/// ChaCha20-Poly1305); checked against the RFC's Appendix A vectors.
/// </summary>
internal static class HpkeX25519
{
    /// <summary>Nenc of the KEM: the size of an encapsulated key.</summary>
    public const int EncapsulatedKeySize = DhKem.Size;

    /// <summary>§5.1.1 SetupBaseS(pkR, info): a fresh ephemeral key, Encap, then the key schedule.</summary>
    public static (byte[] Enc, HpkeSenderContext Context) SetupBaseSender(HpkeAead aead, ReadOnlySpan<byte> recipientPublicKey, ReadOnlySpan<byte> info)
    {
        using var ephemeral = X25519Dh.CreateKey();
        return SetupBaseSender(aead, recipientPublicKey, info, ephemeral);
    }

    /// <summary>SetupBaseS with a chosen ephemeral key (the RFC's test vectors fix skE; nothing else may).</summary>
    internal static (byte[] Enc, HpkeSenderContext Context) SetupBaseSender(HpkeAead aead, ReadOnlySpan<byte> recipientPublicKey, ReadOnlySpan<byte> info, Key ephemeral)
    {
        var (sharedSecret, enc) = DhKem.Encap(recipientPublicKey, ephemeral);
        return (enc, KeySchedule(HpkeMode.Base, aead, sharedSecret, info, (s, k, n, e) => new HpkeSenderContext(aead, s, k, n, e)));
    }

    /// <summary>§5.1.1 SetupBaseR(enc, skR, info).</summary>
    public static HpkeRecipientContext SetupBaseRecipient(HpkeAead aead, ReadOnlySpan<byte> enc, Key recipient, ReadOnlySpan<byte> info)
    {
        var sharedSecret = DhKem.Decap(enc, recipient);
        return KeySchedule(HpkeMode.Base, aead, sharedSecret, info, (s, k, n, e) => new HpkeRecipientContext(aead, s, k, n, e));
    }

    /// <summary>§5.1.3 SetupAuthS(pkR, info, skS).</summary>
    public static (byte[] Enc, HpkeSenderContext Context) SetupAuthSender(HpkeAead aead, ReadOnlySpan<byte> recipientPublicKey, ReadOnlySpan<byte> info, Key sender)
    {
        using var ephemeral = X25519Dh.CreateKey();
        return SetupAuthSender(aead, recipientPublicKey, info, sender, ephemeral);
    }

    /// <summary>SetupAuthS with a chosen ephemeral key (test vectors only).</summary>
    internal static (byte[] Enc, HpkeSenderContext Context) SetupAuthSender(HpkeAead aead, ReadOnlySpan<byte> recipientPublicKey, ReadOnlySpan<byte> info, Key sender, Key ephemeral)
    {
        var (sharedSecret, enc) = DhKem.AuthEncap(recipientPublicKey, sender, ephemeral);
        return (enc, KeySchedule(HpkeMode.Auth, aead, sharedSecret, info, (s, k, n, e) => new HpkeSenderContext(aead, s, k, n, e)));
    }

    /// <summary>§5.1.3 SetupAuthR(enc, skR, info, pkS).</summary>
    public static HpkeRecipientContext SetupAuthRecipient(HpkeAead aead, ReadOnlySpan<byte> enc, Key recipient, ReadOnlySpan<byte> info, ReadOnlySpan<byte> senderPublicKey)
    {
        var sharedSecret = DhKem.AuthDecap(enc, recipient, senderPublicKey);
        return KeySchedule(HpkeMode.Auth, aead, sharedSecret, info, (s, k, n, e) => new HpkeRecipientContext(aead, s, k, n, e));
    }

    /// <summary>§6.1 SealBase: SetupBaseS, then one Seal.</summary>
    public static (byte[] Enc, byte[] Ciphertext) SealBase(HpkeAead aead, ReadOnlySpan<byte> recipientPublicKey, ReadOnlySpan<byte> info, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext)
    {
        var (enc, context) = SetupBaseSender(aead, recipientPublicKey, info);
        using (context)
        {
            return (enc, context.Seal(aad, plaintext));
        }
    }

    /// <summary>§6.1 OpenBase: SetupBaseR, then one Open.</summary>
    public static byte[] OpenBase(HpkeAead aead, ReadOnlySpan<byte> enc, Key recipient, ReadOnlySpan<byte> info, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ciphertext)
    {
        using var context = SetupBaseRecipient(aead, enc, recipient, info);
        return context.Open(aad, ciphertext);
    }

    /// <summary>§6.1 SealAuth: SetupAuthS, then one Seal.</summary>
    public static (byte[] Enc, byte[] Ciphertext) SealAuth(HpkeAead aead, ReadOnlySpan<byte> recipientPublicKey, ReadOnlySpan<byte> info, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext, Key sender)
    {
        var (enc, context) = SetupAuthSender(aead, recipientPublicKey, info, sender);
        using (context)
        {
            return (enc, context.Seal(aad, plaintext));
        }
    }

    /// <summary>§6.1 OpenAuth: SetupAuthR, then one Open.</summary>
    public static byte[] OpenAuth(HpkeAead aead, ReadOnlySpan<byte> enc, Key recipient, ReadOnlySpan<byte> info, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> senderPublicKey)
    {
        using var context = SetupAuthRecipient(aead, enc, recipient, info, senderPublicKey);
        return context.Open(aad, ciphertext);
    }

    /// <summary>§5.1: suite_id = concat("HPKE", I2OSP(kem_id, 2), I2OSP(kdf_id, 2), I2OSP(aead_id, 2)).</summary>
    internal static byte[] SuiteId(HpkeAead aead)
    {
        var suiteId = new byte[10];
        "HPKE"u8.CopyTo(suiteId);
        BinaryPrimitives.WriteUInt16BigEndian(suiteId.AsSpan(4), DhKem.KemId);
        BinaryPrimitives.WriteUInt16BigEndian(suiteId.AsSpan(6), HpkeKdf.KdfId);
        BinaryPrimitives.WriteUInt16BigEndian(suiteId.AsSpan(8), (ushort)aead);
        return suiteId;
    }

    /// <summary>
    /// §5.1 KeySchedule with default_psk = default_psk_id = "" (modes base and auth, for which
    /// VerifyPSKInputs holds by construction). Consumes and zeroes <paramref name="sharedSecret"/>.
    /// </summary>
    private static T KeySchedule<T>(HpkeMode mode, HpkeAead aead, byte[] sharedSecret, ReadOnlySpan<byte> info, Func<byte[], byte[], byte[], byte[], T> context)
    {
        var suiteId = SuiteId(aead);
        var pskIdHash = HpkeKdf.LabeledExtract(suiteId, [], "psk_id_hash"u8, []);
        var infoHash = HpkeKdf.LabeledExtract(suiteId, [], "info_hash"u8, info);
        byte[] keyScheduleContext = [(byte)mode, .. pskIdHash, .. infoHash];
        var secret = HpkeKdf.LabeledExtract(suiteId, sharedSecret, "secret"u8, []);
        CryptographicOperations.ZeroMemory(sharedSecret);
        try
        {
            var key = HpkeKdf.LabeledExpand(suiteId, secret, "key"u8, keyScheduleContext, HpkeAeadAlgorithms.KeySize(aead));
            var baseNonce = HpkeKdf.LabeledExpand(suiteId, secret, "base_nonce"u8, keyScheduleContext, HpkeAeadAlgorithms.NonceSize);
            var exporterSecret = HpkeKdf.LabeledExpand(suiteId, secret, "exp"u8, keyScheduleContext, HpkeKdf.HashSize);
            return context(suiteId, key, baseNonce, exporterSecret);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
        }
    }
}
