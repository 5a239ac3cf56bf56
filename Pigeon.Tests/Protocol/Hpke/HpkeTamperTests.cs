using Pigeon.Protocol;
using Pigeon.Protocol.Hpke;
using Pigeon.Protocol.Primitives;

namespace Pigeon.Tests.Protocol.Hpke;

/// <summary>What HPKE must refuse (RFC 9180 §5.2 OpenError, §9.1): any change to what was sealed or to whom, or by whom.</summary>
public sealed class HpkeTamperTests
{
    private static readonly byte[] Info = "Pigeon test info"u8.ToArray();
    private static readonly byte[] Aad = "Pigeon test aad"u8.ToArray();
    private static readonly byte[] Plaintext = "a sealed message"u8.ToArray();

    // Registry ids (the enums are internal): AEAD 1 = AES-128-GCM, 3 = ChaCha20-Poly1305; mode 0 = base, 2 = auth.
    [Theory]
    [InlineData(1, 0)]
    [InlineData(1, 2)]
    [InlineData(3, 0)]
    [InlineData(3, 2)]
    public void Hpke_SealedMessage_OpensOnlyUnchanged(int aeadId, int modeId)
    {
        var (aead, mode) = ((HpkeAead)aeadId, (HpkeMode)modeId);
        using var recipient = X25519Dh.CreateKey();
        using var sender = X25519Dh.CreateKey();
        var recipientPublic = DhKem.PublicKeyOf(recipient);
        var senderPublic = DhKem.PublicKeyOf(sender);
        var (enc, ciphertext) = mode == HpkeMode.Auth
            ? HpkeX25519.SealAuth(aead, recipientPublic, Info, Aad, Plaintext, sender)
            : HpkeX25519.SealBase(aead, recipientPublic, Info, Aad, Plaintext);

        byte[] Open(byte[] e, byte[] info, byte[] aad, byte[] ct, NSec.Cryptography.Key key, byte[] claimedSender) => mode == HpkeMode.Auth
            ? HpkeX25519.OpenAuth(aead, e, key, info, aad, ct, claimedSender)
            : HpkeX25519.OpenBase(aead, e, key, info, aad, ct);

        Assert.Equal(Plaintext, Open(enc, Info, Aad, ciphertext, recipient, senderPublic));

        for (var i = 0; i < ciphertext.Length; i++)
        {
            Refused.By(() => Open(enc, Info, Aad, Flip(ciphertext, i), recipient, senderPublic), ProtocolError.DecryptionFailed);
        }

        // A changed enc changes kem_context, so even the bit X25519 ignores (RFC 7748 §5) is detected.
        for (var bit = 0; bit < enc.Length * 8; bit++)
        {
            var flipped = (byte[])enc.Clone();
            flipped[bit / 8] ^= (byte)(1 << (bit % 8));
            Refused.By(() => Open(flipped, Info, Aad, ciphertext, recipient, senderPublic));
        }

        for (var i = 0; i < Info.Length; i++)
        {
            Refused.By(() => Open(enc, Flip(Info, i), Aad, ciphertext, recipient, senderPublic), ProtocolError.DecryptionFailed);
        }

        for (var i = 0; i < Aad.Length; i++)
        {
            Refused.By(() => Open(enc, Info, Flip(Aad, i), ciphertext, recipient, senderPublic), ProtocolError.DecryptionFailed);
        }

        Refused.By(() => Open(enc, Info, Aad, ciphertext[..^1], recipient, senderPublic), ProtocolError.DecryptionFailed);
        Refused.By(() => Open(enc, Info, Aad, ciphertext[..15], recipient, senderPublic), ProtocolError.DecryptionFailed);

        using var otherRecipient = X25519Dh.CreateKey();
        Refused.By(() => Open(enc, Info, Aad, ciphertext, otherRecipient, senderPublic), ProtocolError.DecryptionFailed);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void HpkeAuth_WrongSenderKey_IsRefused(int aeadId)
    {
        var aead = (HpkeAead)aeadId;
        using var recipient = X25519Dh.CreateKey();
        using var sender = X25519Dh.CreateKey();
        using var impostor = X25519Dh.CreateKey();
        var recipientPublic = DhKem.PublicKeyOf(recipient);

        // The recipient expects `sender`; a message sealed with any other key must not open as theirs.
        var (enc, ciphertext) = HpkeX25519.SealAuth(aead, recipientPublic, Info, Aad, Plaintext, impostor);
        Refused.By(() => HpkeX25519.OpenAuth(aead, enc, recipient, Info, Aad, ciphertext, DhKem.PublicKeyOf(sender)), ProtocolError.DecryptionFailed);
        Assert.Equal(Plaintext, HpkeX25519.OpenAuth(aead, enc, recipient, Info, Aad, ciphertext, DhKem.PublicKeyOf(impostor)));

        // Nor does an auth-mode message open in base mode, or the other way round (the mode is in the key schedule).
        Refused.By(() => HpkeX25519.OpenBase(aead, enc, recipient, Info, Aad, ciphertext), ProtocolError.DecryptionFailed);
        var (baseEnc, baseCiphertext) = HpkeX25519.SealBase(aead, recipientPublic, Info, Aad, Plaintext);
        Refused.By(() => HpkeX25519.OpenAuth(aead, baseEnc, recipient, Info, Aad, baseCiphertext, DhKem.PublicKeyOf(sender)), ProtocolError.DecryptionFailed);
    }

    [Fact]
    public void HpkeContext_ReorderedMessage_IsRefused_AndTheSequenceStays()
    {
        using var recipient = X25519Dh.CreateKey();
        var (enc, sending) = HpkeX25519.SetupBaseSender(HpkeAead.Aes128Gcm, DhKem.PublicKeyOf(recipient), Info);
        using var receiving = HpkeX25519.SetupBaseRecipient(HpkeAead.Aes128Gcm, enc, recipient, Info);
        var first = sending.Seal(Aad, "first"u8);
        var second = sending.Seal(Aad, "second"u8);

        // §5.2: each message has its own nonce, so the second does not open in the first's place.
        Refused.By(() => receiving.Open(Aad, second), ProtocolError.DecryptionFailed);
        Assert.Equal(0UL, receiving.SequenceNumber);
        Assert.Equal("first"u8.ToArray(), receiving.Open(Aad, first));
        Assert.Equal("second"u8.ToArray(), receiving.Open(Aad, second));
        Assert.Equal(2UL, receiving.SequenceNumber);
        sending.Dispose();
    }

    [Fact]
    public void HpkeExport_DependsOnContextAndLength_AndRefusesOverlongOutput()
    {
        using var recipient = X25519Dh.CreateKey();
        var (enc, sending) = HpkeX25519.SetupBaseSender(HpkeAead.Aes128Gcm, DhKem.PublicKeyOf(recipient), Info);
        using var receiving = HpkeX25519.SetupBaseRecipient(HpkeAead.Aes128Gcm, enc, recipient, Info);
        Assert.Equal(sending.Export("a"u8, 32), receiving.Export("a"u8, 32));
        Assert.NotEqual(sending.Export("a"u8, 32), sending.Export("b"u8, 32));
        // L is an input of LabeledExpand (§4), so a shorter export is not a prefix of a longer one.
        Assert.NotEqual(sending.Export("a"u8, 32)[..16], sending.Export("a"u8, 16));
        Assert.Equal(255 * 32, sending.Export("a"u8, 255 * 32).Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => sending.Export("a"u8, (255 * 32) + 1));
        sending.Dispose();
    }

    [Fact]
    public void Hpke_LowOrderEncapsulation_IsRefused()
    {
        using var recipient = X25519Dh.CreateKey();
        // RFC 9180 §7.1.4: an all-zero DH output is a ValidationError; the zero point is of order 1.
        Refused.By(() => HpkeX25519.OpenBase(HpkeAead.Aes128Gcm, new byte[32], recipient, Info, Aad, new byte[32]), ProtocolError.InvalidKey);
    }

    private static byte[] Flip(byte[] data, int index)
    {
        var copy = (byte[])data.Clone();
        copy[index] ^= 0x01;
        return copy;
    }
}
