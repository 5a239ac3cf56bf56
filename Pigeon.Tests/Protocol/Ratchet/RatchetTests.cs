using System.Text;
using Pigeon.Protocol;
using Pigeon.Protocol.Ratchet;
using Pigeon.Protocol.Wire;

namespace Pigeon.Tests.Protocol.Ratchet;

public sealed class RatchetTests
{
    private static byte[] Text(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public void Ratchet_LongConversation_WithAlternatingAndOneSidedRuns_DecryptsEverything()
    {
        using var pair = new EstablishedPair();
        var runs = new[] { 1, 1, 1, 5, 1, 17, 2, 1, 40, 3, 1, 1, 9 };
        var aliceSends = true;
        var counter = 0;
        foreach (var run in runs)
        {
            var (from, to) = aliceSends ? (pair.AliceSession, pair.BobSession) : (pair.BobSession, pair.AliceSession);
            for (var i = 0; i < run; i++)
            {
                var plaintext = Text($"message {counter++} of a long conversation");
                Assert.Equal(plaintext, to.Decrypt(from.Encrypt(plaintext)));
            }

            aliceSends = !aliceSends;
        }

        Assert.True(pair.AliceSession.IsAcknowledged);
    }

    [Fact]
    public void Ratchet_InitiatorMessages_CarryThePreludeUntilTheFirstReply()
    {
        using var pair = new EstablishedPair();
        var second = pair.AliceSession.Encrypt("second"u8);
        Assert.Equal(MessageType.PrekeyMessage, WireMessage.Parse(second).Type);
        Assert.Equal("second"u8.ToArray(), pair.BobSession.Decrypt(second));

        Assert.Equal("reply"u8.ToArray(), pair.AliceSession.Decrypt(pair.BobSession.Encrypt("reply"u8)));
        var third = pair.AliceSession.Encrypt("third"u8);
        Assert.Equal(MessageType.Message, WireMessage.Parse(third).Type);
        Assert.Equal("third"u8.ToArray(), pair.BobSession.Decrypt(third));
    }

    [Fact]
    public void Session_IsSetupOf_RecognisesOnlyItsOwnPrekeyMessages()
    {
        using var pair = new EstablishedPair();
        var again = WireMessage.Parse(pair.AliceSession.Encrypt("again"u8));
        Assert.True(pair.BobSession.IsSetupOf(again));
        Assert.True(pair.BobSession.IsSetupOf(WireMessage.Parse(pair.FirstMessage)));
        Assert.False(pair.AliceSession.IsSetupOf(again));

        var otherSetup = Session.Initiate(pair.Alice.Identity, pair.Bob.Bundle() with { OneTimePrekey = pair.Bob.OneTime[1], MlKemPrekey = pair.Bob.MlKem[1] }, pair.Bob.AccountId);
        Assert.False(pair.BobSession.IsSetupOf(WireMessage.Parse(otherSetup.Encrypt("other"u8))));
        Assert.False(pair.BobSession.IsSetupOf(WireMessage.Parse(pair.BobSession.Encrypt("plain"u8))));
    }

    [Fact]
    public void Ratchet_OutOfOrderDeliveryWithinMaxSkip_Decrypts()
    {
        using var pair = new EstablishedPair();
        pair.AliceSession.Decrypt(pair.BobSession.Encrypt("ack"u8));
        var messages = Enumerable.Range(0, 50).Select(i => (Plain: Text($"m{i}"), Wire: pair.AliceSession.Encrypt(Text($"m{i}")))).ToList();

        // Newest first, then a message from a new DH ratchet step, then the old chain's remainder (§3.5 PN).
        Assert.Equal(messages[49].Plain, pair.BobSession.Decrypt(messages[49].Wire));
        Assert.Equal("bob"u8.ToArray(), pair.AliceSession.Decrypt(pair.BobSession.Encrypt("bob"u8)));
        var newChain = pair.AliceSession.Encrypt("new chain"u8);
        Assert.Equal("new chain"u8.ToArray(), pair.BobSession.Decrypt(newChain));
        foreach (var (plain, wire) in messages.Take(49).Reverse())
        {
            Assert.Equal(plain, pair.BobSession.Decrypt(wire));
        }
    }

    [Fact]
    public void Ratchet_SkippingExactlyMaxSkip_Decrypts_AndOneMore_IsRefused()
    {
        using var pair = new EstablishedPair();
        pair.AliceSession.Decrypt(pair.BobSession.Encrypt("ack"u8));
        var wires = Enumerable.Range(0, DoubleRatchet.MaxSkip + 2).Select(i => pair.AliceSession.Encrypt(Text($"m{i}"))).ToList();

        var restored = Session.Deserialize(pair.BobSession.Serialize());
        Assert.Equal(Text($"m{DoubleRatchet.MaxSkip}"), restored.Decrypt(wires[DoubleRatchet.MaxSkip]));

        Refused.By(() => pair.BobSession.Decrypt(wires[DoubleRatchet.MaxSkip + 1]), ProtocolError.TooManySkippedMessages);
        // The refusal left the session as it was.
        Assert.Equal("m0"u8.ToArray(), pair.BobSession.Decrypt(wires[0]));
    }

    [Theory]
    [InlineData(DoubleRatchet.MaxSkip, true)]
    [InlineData(DoubleRatchet.MaxSkip + 1, false)]
    public void Ratchet_PreviousChainGapAtTheMaxSkipBound_DecryptsWithinAndIsRefusedBeyond(int lost, bool accepted)
    {
        using var pair = new EstablishedPair();
        pair.AliceSession.Decrypt(pair.BobSession.Encrypt("b"u8));
        pair.BobSession.Decrypt(pair.AliceSession.Encrypt("x"u8));
        for (var i = 0; i < lost; i++)
        {
            pair.AliceSession.Encrypt("lost"u8);
        }

        // Alice moves to a new chain; its header's PN makes Bob store the lost messages' keys (§3.5).
        pair.AliceSession.Decrypt(pair.BobSession.Encrypt("y"u8));
        var next = pair.AliceSession.Encrypt("next chain"u8);
        if (accepted)
        {
            Assert.Equal("next chain"u8.ToArray(), pair.BobSession.Decrypt(next));
            Assert.Equal(lost, SessionInspector.State(pair.BobSession).Skipped.Count);
        }
        else
        {
            Refused.By(() => pair.BobSession.Decrypt(next), ProtocolError.TooManySkippedMessages);
        }
    }

    [Fact]
    public void Ratchet_StoredSkippedKeys_AreBoundedInTotal()
    {
        using var pair = new EstablishedPair();
        pair.AliceSession.Decrypt(pair.BobSession.Encrypt("ack"u8));
        var oldest = pair.AliceSession.Encrypt("oldest"u8);
        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < DoubleRatchet.MaxSkip - 1; i++)
            {
                pair.AliceSession.Encrypt("skipped"u8);
            }

            pair.BobSession.Decrypt(pair.AliceSession.Encrypt("last of chain"u8));
            pair.AliceSession.Decrypt(pair.BobSession.Encrypt("turn"u8));
        }

        var state = SessionInspector.State(pair.BobSession);
        Assert.True(state.Skipped.Count <= DoubleRatchet.MaxStoredSkippedKeys, $"{state.Skipped.Count} skipped keys stored");
        // The oldest were evicted to respect the bound, so the oldest message can no longer be read.
        Assert.Throws<ProtocolException>(() => pair.BobSession.Decrypt(oldest));
    }

    [Fact]
    public void Ratchet_ReplayedMessage_IsRejected()
    {
        using var pair = new EstablishedPair();
        var wire = pair.BobSession.Encrypt("once"u8);
        Assert.Equal("once"u8.ToArray(), pair.AliceSession.Decrypt(wire));
        Refused.By(() => pair.AliceSession.Decrypt(wire), ProtocolError.DuplicateMessage);

        // The first (prekey) message replayed into the established session is refused too.
        Refused.By(() => pair.BobSession.Decrypt(pair.FirstMessage), ProtocolError.DuplicateMessage);
    }

    [Fact]
    public void Ratchet_ReplayedSkippedMessage_IsRejected()
    {
        using var pair = new EstablishedPair();
        var first = pair.BobSession.Encrypt("first"u8);
        var second = pair.BobSession.Encrypt("second"u8);
        Assert.Equal("second"u8.ToArray(), pair.AliceSession.Decrypt(second));
        Assert.Equal("first"u8.ToArray(), pair.AliceSession.Decrypt(first));
        Refused.By(() => pair.AliceSession.Decrypt(first));
        Refused.By(() => pair.AliceSession.Decrypt(second));
    }

    [Fact]
    public void Ratchet_MessageKey_IsGoneAfterUse()
    {
        using var pair = new EstablishedPair();
        var skippedFirst = pair.BobSession.Encrypt("a"u8);
        var later = pair.BobSession.Encrypt("b"u8);
        pair.AliceSession.Decrypt(later);
        var state = SessionInspector.State(pair.AliceSession);
        Assert.Single(state.Skipped);

        pair.AliceSession.Decrypt(skippedFirst);
        Assert.Empty(SessionInspector.State(pair.AliceSession).Skipped);
        Refused.By(() => pair.AliceSession.Decrypt(skippedFirst));
        Refused.By(() => pair.AliceSession.Decrypt(later));
    }

    [Fact]
    public void Ratchet_MessageForAnotherSession_IsRejected()
    {
        using var pair = new EstablishedPair();
        using var other = new EstablishedPair();

        // Same two people, a second session: its messages must not open in the first.
        var secondSession = Session.Initiate(pair.Alice.Identity, pair.Bob.Bundle() with { OneTimePrekey = pair.Bob.OneTime[1], MlKemPrekey = pair.Bob.MlKem[1] }, pair.Bob.AccountId);
        var secondFirst = secondSession.Encrypt("other session"u8);
        Refused.By(() => pair.BobSession.Decrypt(secondFirst), ProtocolError.WrongSession);

        // Other sessions' messages name their own session id, so they are refused before any key work.
        var fromOther = other.BobSession.Encrypt("for someone else"u8);
        Refused.By(() => pair.AliceSession.Decrypt(fromOther), ProtocolError.WrongSession);
        var fromOtherAlice = other.AliceSession.Encrypt("x"u8);
        Refused.By(() => pair.BobSession.Decrypt(fromOtherAlice), ProtocolError.WrongSession);
        other.AliceSession.Decrypt(other.BobSession.Encrypt("ack"u8));
        Refused.By(() => pair.BobSession.Decrypt(other.AliceSession.Encrypt("y"u8)), ProtocolError.WrongSession);

        // With this session's id written over its own, another session's message still fails: the id is authenticated.
        var relabelled = other.AliceSession.Encrypt("z"u8);
        pair.AliceSession.SessionId.CopyTo(relabelled, 2);
        Refused.By(() => pair.BobSession.Decrypt(relabelled), ProtocolError.DecryptionFailed);

        // Both sessions still work.
        Assert.Equal("ok"u8.ToArray(), pair.AliceSession.Decrypt(pair.BobSession.Encrypt("ok"u8)));
        Assert.Equal("ok"u8.ToArray(), other.AliceSession.Decrypt(other.BobSession.Encrypt("ok"u8)));
    }

    [Fact]
    public void Ratchet_EverySingleBitFlip_IsRejected_AndLeavesTheSessionUsable()
    {
        using var pair = new EstablishedPair();
        pair.AliceSession.Decrypt(pair.BobSession.Encrypt("ack"u8));
        var wire = pair.AliceSession.Encrypt("a message whose every bit matters"u8);
        AssertEveryFlipRefused(pair.BobSession, wire);
        Assert.Equal("a message whose every bit matters"u8.ToArray(), pair.BobSession.Decrypt(wire));
    }

    [Fact]
    public void Ratchet_EverySingleBitFlipOfAPrekeyMessage_IsRejected()
    {
        using var pair = new EstablishedPair();
        var wire = pair.AliceSession.Encrypt("still carries the prelude"u8);
        Assert.Equal(MessageType.PrekeyMessage, WireMessage.Parse(wire).Type);
        AssertEveryFlipRefused(pair.BobSession, wire);
        Assert.Equal("still carries the prelude"u8.ToArray(), pair.BobSession.Decrypt(wire));
    }

    [Fact]
    public void Accept_BitFlipsAcrossAFirstMessage_AreRejected()
    {
        using var alice = new TestParty();
        using var bob = new TestParty();
        var wire = Session.Initiate(alice.Identity, bob.Bundle(), bob.AccountId).Encrypt("first"u8);

        // Every bit of the fixed-size fields before the ML-KEM ciphertext, then a sample across the rest
        // (each attempt runs the whole PQXDH, so all 15,000 bits would be slow).
        var bits = Enumerable.Range(0, 8 * (2 + 128 + 32 + 4 + 1 + 4 + 4))
            .Concat(Enumerable.Range(0, wire.Length * 8).Where(b => b % 53 == 0));
        foreach (var bit in bits.Distinct())
        {
            var flipped = (byte[])wire.Clone();
            flipped[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.Throws<ProtocolException>(() => Session.Accept(bob.Identity, bob.Prekeys, flipped));
        }

        Assert.Equal("first"u8.ToArray(), Session.Accept(bob.Identity, bob.Prekeys, wire).Plaintext);
    }

    [Fact]
    public void Ratchet_FailedDecryption_LeavesTheSessionUnchanged()
    {
        using var pair = new EstablishedPair();
        var wire = pair.BobSession.Encrypt("real"u8);
        var forged = (byte[])wire.Clone();
        forged[^5] ^= 0x10;
        var before = pair.AliceSession.Serialize();
        Refused.By(() => pair.AliceSession.Decrypt(forged), ProtocolError.DecryptionFailed);
        Assert.Equal(before, pair.AliceSession.Serialize());
        Assert.Equal("real"u8.ToArray(), pair.AliceSession.Decrypt(wire));
    }

    [Fact]
    public void Ratchet_SessionRestoredFromSerializedState_Continues()
    {
        using var pair = new EstablishedPair();
        var skipped = pair.AliceSession.Encrypt("skipped before the restart"u8);
        pair.BobSession.Decrypt(pair.AliceSession.Encrypt("delivered"u8));
        var inFlight = pair.BobSession.Encrypt("in flight during the restart"u8);

        var alice = Session.Deserialize(pair.AliceSession.Serialize());
        var bob = Session.Deserialize(pair.BobSession.Serialize());
        Assert.Equal(pair.AliceSession.Serialize(), alice.Serialize());
        Assert.Equal(pair.Bob.AccountId, alice.RemoteAccountId);
        Assert.Equal(pair.Alice.AccountId, bob.RemoteAccountId);
        Assert.False(alice.IsAcknowledged);

        Assert.Equal("skipped before the restart"u8.ToArray(), bob.Decrypt(skipped));
        Assert.Equal("in flight during the restart"u8.ToArray(), alice.Decrypt(inFlight));
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(Text($"a{i}"), bob.Decrypt(alice.Encrypt(Text($"a{i}"))));
            Assert.Equal(Text($"b{i}"), alice.Decrypt(bob.Encrypt(Text($"b{i}"))));
        }
    }

    [Fact]
    public void Ratchet_Plaintexts_ArePaddedToBuckets()
    {
        using var pair = new EstablishedPair();
        pair.AliceSession.Decrypt(pair.BobSession.Encrypt("ack"u8));
        var lengths = new[] { 0, 1, 30, 60 }.Select(n => pair.AliceSession.Encrypt(new byte[n]).Length).Distinct().ToList();
        Assert.Single(lengths);
        Assert.NotEqual(pair.AliceSession.Encrypt(new byte[61]).Length, lengths[0]);
        Assert.Equal(new byte[5000], pair.BobSession.Decrypt(pair.AliceSession.Encrypt(new byte[5000])));
    }

    [Theory]
    [InlineData(0, 64)]
    [InlineData(60, 64)]
    [InlineData(61, 128)]
    [InlineData(252, 256)]
    [InlineData(253, 512)]
    [InlineData(16380, 16384)]
    [InlineData(16381, 32768)]
    [InlineData(40000, 49152)]
    [InlineData(Padding.MaxPlaintextSize, Padding.MaxPaddedSize)]
    public void Padding_SizeIsTheNextBucket(int plaintext, int padded)
    {
        Assert.Equal(padded, Padding.PaddedSize(plaintext));
        Assert.True(Padding.IsBucketSize(padded));
    }

    [Fact]
    public void Padding_OversizedPlaintext_IsRefused()
    {
        using var pair = new EstablishedPair();
        Refused.By(() => pair.AliceSession.Encrypt(new byte[Padding.MaxPlaintextSize + 1]), ProtocolError.TooLarge);
    }

    private static void AssertEveryFlipRefused(Session receiver, byte[] wire)
    {
        var before = receiver.Serialize();
        for (var bit = 0; bit < wire.Length * 8; bit++)
        {
            var flipped = (byte[])wire.Clone();
            flipped[bit / 8] ^= (byte)(1 << (bit % 8));
            try
            {
                receiver.Decrypt(flipped);
                Assert.Fail($"flipping bit {bit} was not detected");
            }
            catch (ProtocolException)
            {
            }
        }

        Assert.Equal(before, receiver.Serialize());
    }
}

internal static class SessionInspector
{
    public static RatchetState State(Session session) =>
        (RatchetState)typeof(Session).GetField("_state", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(session)!;
}
