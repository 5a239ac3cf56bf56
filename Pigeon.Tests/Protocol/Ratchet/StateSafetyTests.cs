using System.Buffers.Binary;
using Pigeon.Protocol;
using Pigeon.Protocol.Ratchet;
using Pigeon.Protocol.Wire;

namespace Pigeon.Tests.Protocol.Ratchet;

/// <summary>What a session's state must survive: a failed decryption, old skipped keys, and a rollback.</summary>
public sealed class StateSafetyTests
{
    [Fact]
    public void Decrypt_AuthenticMessageWithBadPadding_ChangesNothing()
    {
        using var pair = new EstablishedPair();
        pair.AliceSession.Decrypt(pair.BobSession.Encrypt("ack"u8));

        // Authentic ciphertext (right key, right tag) of a padded plaintext whose length field lies.
        var padded = new byte[64];
        BinaryPrimitives.WriteUInt32BigEndian(padded, 100);
        var badPadding = pair.BobSession.EncryptPadded(padded);
        var nonZeroPadding = new byte[64];
        BinaryPrimitives.WriteUInt32BigEndian(nonZeroPadding, 3);
        nonZeroPadding[^1] = 1;
        var badZeros = pair.BobSession.EncryptPadded(nonZeroPadding);
        var good = pair.BobSession.Encrypt("after"u8);

        var before = pair.AliceSession.Serialize();
        Refused.By(() => pair.AliceSession.Decrypt(badPadding), ProtocolError.Malformed);
        Assert.Equal(before, pair.AliceSession.Serialize());
        Refused.By(() => pair.AliceSession.Decrypt(badZeros), ProtocolError.Malformed);
        Assert.Equal(before, pair.AliceSession.Serialize());

        // Had the state moved on, the message key would be gone and a second try would say "duplicate".
        Refused.By(() => pair.AliceSession.Decrypt(badPadding), ProtocolError.Malformed);
        Assert.Equal("after"u8.ToArray(), pair.AliceSession.Decrypt(good));
    }

    [Fact]
    public void Decrypt_InitiatorsPendingPrelude_StaysUntilAReplyReallyDecrypts()
    {
        using var pair = new EstablishedPair();
        var padded = new byte[64];
        BinaryPrimitives.WriteUInt32BigEndian(padded, 61);
        var badReply = pair.BobSession.EncryptPadded(padded);
        Refused.By(() => pair.AliceSession.Decrypt(badReply), ProtocolError.Malformed);
        Assert.False(pair.AliceSession.IsAcknowledged);
        Assert.Equal(MessageType.PrekeyMessage, WireMessage.Parse(pair.AliceSession.Encrypt("still a prekey message"u8)).Type);
    }

    [Fact]
    public void SkippedKeys_ExpireByAge()
    {
        using var pair = new EstablishedPair();
        var stored = TestParty.Now;
        pair.AliceSession.Decrypt(WireMessage.Parse(pair.BobSession.Encrypt("ack"u8)), stored);
        var late = pair.BobSession.Encrypt("late"u8);
        var later = pair.BobSession.Encrypt("later"u8);
        var lastest = pair.BobSession.Encrypt("latest"u8);
        pair.AliceSession.Decrypt(WireMessage.Parse(lastest), stored);
        Assert.Equal(2, SessionInspector.State(pair.AliceSession).Skipped.Count);

        // Just within the age bound the skipped key still opens its message.
        var justInTime = stored + DoubleRatchet.MaxSkippedKeyAge - TimeSpan.FromSeconds(1);
        Assert.Equal("later"u8.ToArray(), pair.AliceSession.Decrypt(WireMessage.Parse(later), justInTime));

        // At the bound it is gone, and its message with it.
        var tooLate = stored + DoubleRatchet.MaxSkippedKeyAge;
        Refused.By(() => pair.AliceSession.Decrypt(WireMessage.Parse(late), tooLate), ProtocolError.DuplicateMessage);
        Assert.Equal("new"u8.ToArray(), pair.AliceSession.Decrypt(WireMessage.Parse(pair.BobSession.Encrypt("new"u8)), tooLate));
        Assert.Empty(SessionInspector.State(pair.AliceSession).Skipped);
        Assert.Empty(SessionInspector.State(Session.Deserialize(pair.AliceSession.Serialize())).Skipped);
    }

    [Fact]
    public void Rollback_SameMessageKeyForTwoPlaintexts_NeverReusesKeyAndNonce()
    {
        using var pair = new EstablishedPair();
        pair.AliceSession.Decrypt(pair.BobSession.Encrypt("ack"u8));
        var snapshot = pair.AliceSession.Serialize();

        var p1 = "attack at dawn, bring the maps"u8.ToArray();
        var p2 = "retreat at dusk, burn the maps"u8.ToArray();
        var c1 = WireMessage.Parse(pair.AliceSession.Encrypt(p1));
        var rolledBack = Session.Deserialize(snapshot);
        var c2 = WireMessage.Parse(rolledBack.Encrypt(p2));

        // Same state, same chain position: the ratchet gave both the same message key.
        Assert.Equal(c1.Header.RatchetKey, c2.Header.RatchetKey);
        Assert.Equal(c1.Header.MessageNumber, c2.Header.MessageNumber);
        Assert.NotEqual(c1.Header.MessageSalt, c2.Header.MessageSalt);

        // With one key and nonce, c1 ⊕ c2 would equal p1 ⊕ p2 (padded, before the tag).
        var padded1 = Padding.Pad(p1);
        var padded2 = Padding.Pad(p2);
        var ciphertextXor = Xor(c1.Body[..padded1.Length].ToArray(), c2.Body[..padded2.Length].ToArray());
        var plaintextXor = Xor(padded1, padded2);
        Assert.NotEqual(plaintextXor, ciphertextXor);
        var equalBytes = ciphertextXor.Zip(plaintextXor).Count(p => p.First == p.Second);
        Assert.True(equalBytes < 16, $"{equalBytes} of {plaintextXor.Length} bytes of c1 ⊕ c2 match p1 ⊕ p2");

        // And both still decrypt: the receiver has one key for that position and the salt in each header.
        var bob = Session.Deserialize(pair.BobSession.Serialize());
        Assert.Equal(p1, pair.BobSession.Decrypt(c1));
        Assert.Equal(p2, bob.Decrypt(c2));
    }

    [Fact]
    public void Rollback_SamePlaintextTwice_GivesUnrelatedCiphertexts()
    {
        using var pair = new EstablishedPair();
        pair.AliceSession.Decrypt(pair.BobSession.Encrypt("ack"u8));
        var snapshot = pair.AliceSession.Serialize();
        var first = WireMessage.Parse(pair.AliceSession.Encrypt("same text"u8));
        var second = WireMessage.Parse(Session.Deserialize(snapshot).Encrypt("same text"u8));
        Assert.NotEqual(first.Header.MessageSalt, second.Header.MessageSalt);
        Assert.NotEqual(first.Body.ToArray(), second.Body.ToArray());
    }

    private static byte[] Xor(byte[] a, byte[] b) => [.. a.Zip(b, (x, y) => (byte)(x ^ y))];
}
