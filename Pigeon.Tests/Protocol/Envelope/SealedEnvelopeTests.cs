using System.Buffers.Binary;
using System.Text;
using NSec.Cryptography;
using Pigeon.Protocol;
using Pigeon.Protocol.Envelope;
using Pigeon.Protocol.Hpke;
using Pigeon.Protocol.Identity;
using Pigeon.Protocol.Primitives;

namespace Pigeon.Tests.Protocol.Envelope;

public sealed class SealedEnvelopeTests
{
    private static readonly byte[] Content = "a ratchet message would be here"u8.ToArray();

    [Fact]
    public void SealedEnvelope_OpensToTheAuthenticatedSenderAndContent()
    {
        using var alice = IdentityKeyPair.Generate();
        using var bob = IdentityKeyPair.Generate();
        var envelope = Seal(alice, bob, Content);
        Assert.Equal(SealedEnvelope.Overhead + Content.Length, envelope.Length);
        Assert.Equal(ProtocolInfo.WireVersion, envelope[0]);

        var opened = SealedEnvelope.Open(bob, DeviceAddress.Primary(bob.AccountId), envelope);
        Assert.Equal(DeviceAddress.Primary(alice.AccountId), opened.Sender);
        Assert.Equal(alice.PublicIdentity, opened.SenderIdentity);
        Assert.Equal(EnvelopeContentType.RatchetMessage, opened.ContentType);
        Assert.Equal(Content, opened.Content);

        // Neither the sender's id nor its keys appear in the envelope's bytes.
        var text = Encoding.ASCII.GetString(envelope);
        Assert.DoesNotContain(alice.AccountId, text, StringComparison.Ordinal);
        Assert.False(Contains(envelope, alice.PublicIdentity.SigningKey));
        Assert.False(Contains(envelope, alice.PublicIdentity.AgreementKey));
        Assert.NotEqual(envelope, Seal(alice, bob, Content));
    }

    [Fact]
    public void SealedEnvelope_ByteForByte_IsTheDocumentedLayout()
    {
        using var alice = IdentityKeyPair.Generate();
        using var bob = IdentityKeyPair.Generate();
        var built = Build(alice.PublicIdentity, DeviceAddress.Primary(alice.AccountId), alice.AgreementKey, bob, DeviceAddress.Primary(bob.AccountId), Content);
        var opened = SealedEnvelope.Open(bob, DeviceAddress.Primary(bob.AccountId), built.Envelope);
        Assert.Equal(DeviceAddress.Primary(alice.AccountId), opened.Sender);
        Assert.Equal(Content, opened.Content);
    }

    [Fact]
    public void SealedEnvelope_EveryTamperedByte_IsRefused()
    {
        using var alice = IdentityKeyPair.Generate();
        using var bob = IdentityKeyPair.Generate();
        var envelope = Seal(alice, bob, Content);
        var self = DeviceAddress.Primary(bob.AccountId);
        Refused.By(() => SealedEnvelope.Open(bob, self, Flip(envelope, 0, 0x01)), ProtocolError.UnsupportedVersion);
        for (var i = 1; i < envelope.Length; i++)
        {
            foreach (var mask in new byte[] { 0x01, 0x80 })
            {
                Refused.By(() => SealedEnvelope.Open(bob, self, Flip(envelope, i, mask)), ProtocolError.DecryptionFailed);
            }
        }

        Assert.Equal(Content, SealedEnvelope.Open(bob, self, envelope).Content);
    }

    [Fact]
    public void SealedEnvelope_EveryTruncationAndExtension_IsRefused()
    {
        using var alice = IdentityKeyPair.Generate();
        using var bob = IdentityKeyPair.Generate();
        var envelope = Seal(alice, bob, Content);
        var self = DeviceAddress.Primary(bob.AccountId);
        for (var length = 0; length < envelope.Length; length++)
        {
            var truncated = envelope[..length];
            Refused.By(() => SealedEnvelope.Open(bob, self, truncated), length < SealedEnvelope.Overhead ? ProtocolError.Malformed : ProtocolError.DecryptionFailed);
        }

        Refused.By(() => SealedEnvelope.Open(bob, self, [.. envelope, 0]), ProtocolError.DecryptionFailed);
        Refused.By(() => SealedEnvelope.Open(bob, self, new byte[SealedEnvelope.Overhead + SealedEnvelope.MaxContentSize + 1]), ProtocolError.TooLarge);
    }

    [Fact]
    public void SealedEnvelope_ForAnotherRecipient_IsRefused()
    {
        using var alice = IdentityKeyPair.Generate();
        using var bob = IdentityKeyPair.Generate();
        using var carol = IdentityKeyPair.Generate();
        var envelope = Seal(alice, bob, Content);

        Refused.By(() => SealedEnvelope.Open(carol, DeviceAddress.Primary(carol.AccountId), envelope), ProtocolError.DecryptionFailed);

        // Another device of the same account (same identity key): the address in both infos differs.
        Refused.By(() => SealedEnvelope.Open(bob, new DeviceAddress(bob.AccountId, 2), envelope), ProtocolError.DecryptionFailed);
        var toDevice2 = SealedEnvelope.Seal(alice, 1, bob.PublicIdentity, new DeviceAddress(bob.AccountId, 2), EnvelopeContentType.RatchetMessage, Content);
        Refused.By(() => SealedEnvelope.Open(bob, DeviceAddress.Primary(bob.AccountId), toDevice2), ProtocolError.DecryptionFailed);
        Assert.Equal(Content, SealedEnvelope.Open(bob, new DeviceAddress(bob.AccountId, 2), toDevice2).Content);

        Assert.Throws<ArgumentException>(() => SealedEnvelope.Open(bob, DeviceAddress.Primary(carol.AccountId), envelope));
        Assert.Throws<ArgumentException>(() => SealedEnvelope.Seal(alice, 1, carol.PublicIdentity, DeviceAddress.Primary(bob.AccountId), EnvelopeContentType.RatchetMessage, Content));
    }

    [Fact]
    public void SealedEnvelope_SenderKeysNotMatchingTheSenderId_AreRefused()
    {
        using var alice = IdentityKeyPair.Generate();
        using var bob = IdentityKeyPair.Generate();
        using var mallory = IdentityKeyPair.Generate();
        var self = DeviceAddress.Primary(bob.AccountId);

        // Mallory's own keys under Alice's account id: the id is not theirs.
        var claimsAlice = SealedEnvelope.SealAs(mallory, DeviceAddress.Primary(alice.AccountId), bob.PublicIdentity, self, EnvelopeContentType.RatchetMessage, Content);
        Refused.By(() => SealedEnvelope.Open(bob, self, claimsAlice), ProtocolError.IdentityMismatch);

        // Alice's public keys and id, but the inner layer sealed with Mallory's key: auth mode fails.
        var borrowed = Build(alice.PublicIdentity, DeviceAddress.Primary(alice.AccountId), mallory.AgreementKey, bob, self, Content);
        Refused.By(() => SealedEnvelope.Open(bob, self, borrowed.Envelope), ProtocolError.DecryptionFailed);

        // Alice's signing key with Mallory's agreement key: a different account id than Alice's.
        var mixed = new PublicIdentity(alice.PublicIdentity.SigningKey, mallory.PublicIdentity.AgreementKey, mallory.PublicIdentity.AgreementKeySignature);
        var mixedEnvelope = Build(mixed, DeviceAddress.Primary(alice.AccountId), mallory.AgreementKey, bob, self, Content);
        Refused.By(() => SealedEnvelope.Open(bob, self, mixedEnvelope.Envelope), ProtocolError.IdentityMismatch);

        // Keys that hash to the claimed id but whose agreement-key signature does not verify: the
        // envelope opens (its sender is proven), but no session takes the identity: a session's own
        // identity is verified when accepted (PQXDH), and records compare identities byte for byte.
        var unsigned = new PublicIdentity(mallory.PublicIdentity.SigningKey, mallory.PublicIdentity.AgreementKey, new byte[64]);
        using var bobParty = new TestParty();
        var first = Session.Initiate(mallory, bobParty.Bundle(), bobParty.AccountId).Encrypt("hi"u8);
        var opened = SealedEnvelope.Open(bob, self, Build(unsigned, DeviceAddress.Primary(mallory.AccountId), mallory.AgreementKey, bob, self, first).Envelope);
        Assert.False(opened.SenderIdentity.IsValid());
        Refused.By(() => new SessionRecord().Decrypt(bobParty.Identity, bobParty.Prekeys, opened.SenderIdentity, Pigeon.Protocol.Wire.WireMessage.Parse(opened.Content), TestParty.Now), ProtocolError.IdentityMismatch);
    }

    [Fact]
    public void SealedEnvelope_InnerLayerMovedIntoAnotherEnvelope_IsRefused()
    {
        using var alice = IdentityKeyPair.Generate();
        using var bob = IdentityKeyPair.Generate();
        var self = DeviceAddress.Primary(bob.AccountId);
        var first = Build(alice.PublicIdentity, DeviceAddress.Primary(alice.AccountId), alice.AgreementKey, bob, self, Content);
        var second = Build(alice.PublicIdentity, DeviceAddress.Primary(alice.AccountId), alice.AgreementKey, bob, self, "other"u8.ToArray(), innerFrom: first);
        Refused.By(() => SealedEnvelope.Open(bob, self, second.Envelope), ProtocolError.DecryptionFailed);
    }

    [Fact]
    public void SealedEnvelope_RandomBytes_RaiseOnlyTheTypedException()
    {
        using var bob = IdentityKeyPair.Generate();
        var random = new Random(14);
        for (var i = 0; i < 200; i++)
        {
            var junk = new byte[random.Next(0, 600)];
            random.NextBytes(junk);
            if (junk.Length > 0 && i % 2 == 0)
            {
                junk[0] = ProtocolInfo.WireVersion;
            }

            Refused.By(() => SealedEnvelope.Open(bob, DeviceAddress.Primary(bob.AccountId), junk));
        }
    }

    [Fact]
    public void DecryptionErrorNotice_TravelsSealed_AndRoundTrips()
    {
        using var pair = new EstablishedPair();
        var failed = pair.AliceSession.Encrypt("could not be read"u8);
        var messageId = Guid.NewGuid();
        var notice = DecryptionErrorNotice.For(messageId, failed, ProtocolError.DecryptionFailed, TestParty.Now);
        Assert.True(notice.Concerns(pair.AliceSession));
        Assert.NotNull(notice.RatchetKey);
        Assert.Equal(1u, notice.MessageNumber);

        var envelope = SealedEnvelope.Seal(pair.Bob.Identity, 1, pair.Alice.Identity.PublicIdentity, DeviceAddress.Primary(pair.Alice.AccountId), EnvelopeContentType.DecryptionErrorNotice, notice.ToBytes());
        var opened = SealedEnvelope.Open(pair.Alice.Identity, DeviceAddress.Primary(pair.Alice.AccountId), envelope);
        Assert.Equal(EnvelopeContentType.DecryptionErrorNotice, opened.ContentType);
        Assert.Equal(DeviceAddress.Primary(pair.Bob.AccountId), opened.Sender);
        var received = DecryptionErrorNotice.Parse(opened.Content);
        Assert.Equal(notice, received);
        Assert.Equal(messageId, received.MessageId);
        Assert.True(received.Concerns(pair.AliceSession));

        // A message that did not even parse: the notice names only the envelope.
        var unreadable = DecryptionErrorNotice.For(messageId, [1, 2, 3], ProtocolError.Malformed, TestParty.Now);
        Assert.Null(unreadable.SessionId);
        Assert.False(unreadable.Concerns(pair.AliceSession));
        Assert.Equal(unreadable, DecryptionErrorNotice.Parse(unreadable.ToBytes()));
        Assert.Equal(2 + 16 + 8, unreadable.ToBytes().Length);
        Assert.Equal(2 + 8 + 32 + 4 + 16 + 8, notice.ToBytes().Length);
    }

    [Fact]
    public void DecryptionErrorNotice_MalformedBytes_AreRefused()
    {
        var bytes = DecryptionErrorNotice.For(Guid.NewGuid(), [], ProtocolError.WrongSession, TestParty.Now).ToBytes();
        for (var length = 0; length < bytes.Length; length++)
        {
            var truncated = bytes[..length];
            Refused.By(() => DecryptionErrorNotice.Parse(truncated), ProtocolError.Malformed);
        }

        Refused.By(() => DecryptionErrorNotice.Parse([.. bytes, 0]), ProtocolError.Malformed);
        Refused.By(() => DecryptionErrorNotice.Parse(Flip(bytes, 0, 0xF0)), ProtocolError.Malformed);
        Refused.By(() => DecryptionErrorNotice.Parse(Flip(bytes, 1, 0x04)), ProtocolError.Malformed);
        Assert.Throws<ArgumentException>(() => new DecryptionErrorNotice(Guid.Empty, TestParty.Now, ProtocolError.Malformed, [1, 2], null, null).ToBytes());
    }

    private static byte[] Seal(IdentityKeyPair from, IdentityKeyPair to, byte[] content) =>
        SealedEnvelope.Seal(from, DeviceAddress.PrimaryDeviceId, to.PublicIdentity, DeviceAddress.Primary(to.AccountId), EnvelopeContentType.RatchetMessage, content);

    private sealed record Built(byte[] Envelope, byte[] InnerEnc, byte[] InnerCiphertext);

    /// <summary>
    /// The envelope written from the documented layout with HPKE directly (so the test, not the code
    /// under test, says what goes where), claiming any identity and address and sealing the inner layer
    /// with any key. <paramref name="innerFrom"/> reuses another envelope's inner layer.
    /// </summary>
    private static Built Build(PublicIdentity claimedIdentity, DeviceAddress claimedSender, Key innerKey, IdentityKeyPair recipient, DeviceAddress recipientAddress, byte[] content, Built? innerFrom = null)
    {
        static byte[] Address(DeviceAddress a)
        {
            var bytes = new byte[36];
            Encoding.ASCII.GetBytes(a.AccountId, bytes);
            BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(32), a.DeviceId);
            return bytes;
        }

        byte[] version = [2];
        var outerInfo = (byte[])[.. "Pigeon/2/sealed-envelope/outer\0"u8, .. version, .. Address(recipientAddress)];
        var innerInfo = (byte[])[.. "Pigeon/2/sealed-envelope/inner\0"u8, .. version, .. Address(recipientAddress), .. Address(claimedSender)];
        var recipientKey = recipient.PublicIdentity.AgreementKey;
        using var ephemeral = X25519Dh.CreateKey();
        var (outerEnc, outer) = HpkeX25519.SetupBaseSender(HpkeAead.Aes128Gcm, recipientKey, outerInfo, ephemeral);
        var (innerEnc, inner) = innerFrom is null
            ? HpkeX25519.SealAuth(HpkeAead.Aes128Gcm, recipientKey, innerInfo, outerEnc, [1, .. content], innerKey)
            : (innerFrom.InnerEnc, innerFrom.InnerCiphertext);
        byte[] plaintext = [.. claimedIdentity.SigningKey, .. claimedIdentity.AgreementKey, .. claimedIdentity.AgreementKeySignature, .. Address(claimedSender), .. innerEnc, .. inner];
        using (outer)
        {
            return new Built([.. version, .. outerEnc, .. outer.Seal(version, plaintext)], innerEnc, inner);
        }
    }

    private static byte[] Flip(byte[] data, int index, byte mask)
    {
        var copy = (byte[])data.Clone();
        copy[index] ^= mask;
        return copy;
    }

    private static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;
}
