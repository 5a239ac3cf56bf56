using Pigeon.Protocol;
using Pigeon.Protocol.Wire;

namespace Pigeon.Tests.Protocol.Sessions;

public sealed class SessionRecordTests
{
    private static byte[] Text(string s) => System.Text.Encoding.UTF8.GetBytes(s);

    [Fact]
    public void Record_FirstMessage_StartsASession_AndRepliesFlowBothWays()
    {
        using var alice = new RecordParty();
        using var bob = new RecordParty();
        alice.Start(bob);
        var first = bob.Receive(alice.Send(bob, Text("hello")));
        Assert.True(first.StartedNewSession);
        Assert.False(first.OpenedArchivedSession);
        Assert.Same(first.Session, bob.Record.Current);
        Assert.Equal(alice.AccountId, bob.Record.Current!.RemoteAccountId);

        var reply = alice.Receive(bob.Send(alice, Text("hi")));
        Assert.Equal(Text("hi"), reply.Plaintext);
        Assert.False(reply.StartedNewSession);
        Assert.True(alice.Record.Current!.IsAcknowledged);
        Assert.Equal(MessageType.Message, bob.Inner(alice.Send(bob, Text("x"))).Type);
    }

    [Fact]
    public void Record_ReplayedFirstMessage_IsRefused_AndNeverReplacesTheSession()
    {
        using var alice = new RecordParty();
        using var bob = new RecordParty();
        alice.Start(bob);
        var firstEnvelope = alice.Send(bob, Text("hello"));
        bob.Receive(firstEnvelope);
        for (var i = 0; i < 3; i++)
        {
            alice.Receive(bob.Send(alice, Text($"b{i}")));
            bob.Receive(alice.Send(bob, Text($"a{i}")));
        }

        // While the session is in the record the replay reaches it, and its key is gone.
        var before = bob.Snapshot();
        Refused.By(() => bob.Receive(firstEnvelope), ProtocolError.DuplicateMessage);
        Assert.Equal(before, bob.Snapshot());

        // With the record lost (or the session long out of the archive) only the remembered base key stops it.
        var current = bob.Record;
        bob.Record = new SessionRecord();
        Refused.By(() => bob.Receive(firstEnvelope), ProtocolError.ReplayedSetup);
        Assert.Null(bob.Record.Current);
        bob.Record = current;

        // The conversation goes on as before.
        Assert.Equal(Text("after"), bob.Receive(alice.Send(bob, Text("after"))).Plaintext);
        Assert.Equal(Text("reply"), alice.Receive(bob.Send(alice, Text("reply"))).Plaintext);
    }

    [Fact]
    public void Record_ReplayedRegularMessage_IsRefused_AndChangesNothing()
    {
        using var alice = new RecordParty();
        using var bob = new RecordParty();
        RecordParty.Establish(alice, bob);
        var envelope = alice.Send(bob, Text("once"));
        Assert.Equal(Text("once"), bob.Receive(envelope).Plaintext);
        var before = bob.Snapshot();
        Refused.By(() => bob.Receive(envelope), ProtocolError.DuplicateMessage);
        Assert.Equal(before, bob.Snapshot());
    }

    [Fact]
    public void Record_MessageOfAnArchivedSession_OpensAndSaysSo_ThenItsSessionIsCurrent()
    {
        using var alice = new RecordParty();
        using var bob = new RecordParty();
        RecordParty.Establish(alice, bob);
        var old = alice.Record.Current!;
        var inFlight = bob.Send(alice, Text("sent on the old session"));

        // Alice starts over; Bob has not heard of it yet and is still on the old session.
        var fresh = alice.Start(bob);
        Assert.Same(fresh, alice.Record.Current);
        Assert.Contains(old, alice.Record.Archived);

        var opened = alice.Receive(inFlight);
        Assert.True(opened.OpenedArchivedSession);
        Assert.Same(old, opened.Session);
        Assert.Equal(Text("sent on the old session"), opened.Plaintext);
    }

    [Fact]
    public void Record_SimultaneousStart_BothKeepTheLowerBaseKey_AndFollowUpsFlowBothWays()
    {
        var lowerWasAlices = new HashSet<bool>();
        for (var round = 0; round < 12 && lowerWasAlices.Count < 2 || round < 4; round++)
        {
            using var alice = new RecordParty();
            using var bob = new RecordParty();
            var aliceSession = alice.Start(bob);
            var bobSession = bob.Start(alice);
            var fromAlice = alice.Send(bob, Text("alice invites"));
            var fromBob = bob.Send(alice, Text("bob invites"));
            var aliceFollowUp = alice.Send(bob, Text("alice, before any answer"));

            // Both first messages cross in transit.
            Assert.Equal(Text("bob invites"), alice.Receive(fromBob).Plaintext);
            Assert.Equal(Text("alice invites"), bob.Receive(fromAlice).Plaintext);
            Assert.Equal(Text("alice, before any answer"), bob.Receive(aliceFollowUp).Plaintext);

            var aliceWins = aliceSession.BaseKey.AsSpan().SequenceCompareTo(bobSession.BaseKey) < 0;
            lowerWasAlices.Add(aliceWins);
            var winner = aliceWins ? aliceSession : bobSession;
            Assert.Equal(winner.SessionId, alice.Record.Current!.SessionId);
            Assert.Equal(winner.SessionId, bob.Record.Current!.SessionId);

            for (var i = 0; i < 4; i++)
            {
                var toBob = alice.Receive(bob.Send(alice, Text($"bob {i}")));
                Assert.Equal(Text($"bob {i}"), toBob.Plaintext);
                Assert.Equal(Text($"alice {i}"), bob.Receive(alice.Send(bob, Text($"alice {i}"))).Plaintext);
                Assert.Equal(winner.SessionId, alice.Record.Current!.SessionId);
                Assert.Equal(winner.SessionId, bob.Record.Current!.SessionId);
            }

            // Both now send plain ratchet messages on the one session: the setup is acknowledged on each side.
            Assert.Equal(MessageType.Message, bob.Inner(alice.Send(bob, Text("a"))).Type);
            Assert.Equal(MessageType.Message, alice.Inner(bob.Send(alice, Text("b"))).Type);
        }

        Assert.Equal(2, lowerWasAlices.Count);
    }

    [Fact]
    public void Record_FailedDecryption_ChangesNothing()
    {
        using var alice = new RecordParty();
        using var bob = new RecordParty();
        using var mallory = new RecordParty();
        RecordParty.Establish(alice, bob);
        var wire = alice.Record.Encrypt(Text("real"));
        var before = bob.Snapshot();

        // Altered body, under the right session id.
        var altered = (byte[])wire.Clone();
        altered[^3] ^= 0x40;
        Refused.By(() => bob.Record.Decrypt(bob.Party.Identity, bob.Party.Prekeys, alice.Party.Identity.PublicIdentity, WireMessage.Parse(altered), TestParty.Now), ProtocolError.DecryptionFailed);

        // An unknown session id: refused before any key work.
        var unknown = (byte[])wire.Clone();
        unknown[2] ^= 0x01;
        Refused.By(() => bob.Record.Decrypt(bob.Party.Identity, bob.Party.Prekeys, alice.Party.Identity.PublicIdentity, WireMessage.Parse(unknown), TestParty.Now), ProtocolError.WrongSession);

        // The right bytes attributed to someone else.
        Refused.By(() => bob.Record.Decrypt(bob.Party.Identity, bob.Party.Prekeys, mallory.Party.Identity.PublicIdentity, WireMessage.Parse(wire), TestParty.Now), ProtocolError.IdentityMismatch);

        // A stranger's first message whose prelude names Alice: the envelope's sender must be the prelude's.
        mallory.Start(bob);
        var forged = mallory.Record.Encrypt(Text("I am Alice"));
        var parsed = WireMessage.Parse(forged);
        Refused.By(() => bob.Record.Decrypt(bob.Party.Identity, bob.Party.Prekeys, alice.Party.Identity.PublicIdentity, parsed, TestParty.Now), ProtocolError.IdentityMismatch);

        Assert.Equal(before, bob.Snapshot());
        Assert.Equal(Text("real"), bob.Record.Decrypt(bob.Party.Identity, bob.Party.Prekeys, alice.Party.Identity.PublicIdentity, WireMessage.Parse(wire), TestParty.Now).Plaintext);
    }

    [Fact]
    public void Record_Archive_IsBounded_AndDroppedSessionsNoLongerDecrypt()
    {
        using var alice = new RecordParty();
        using var bob = new RecordParty();
        var first = alice.Start(bob);
        bob.Receive(alice.Send(bob, Text("hello")));
        var fromOldest = bob.Send(alice, Text("from the first session"));
        for (var i = 0; i < SessionRecord.MaxArchivedSessions; i++)
        {
            alice.Start(bob);
        }

        Assert.Equal(SessionRecord.MaxArchivedSessions, alice.Record.Archived.Count);
        Assert.Same(first, alice.Record.Archived[^1]);

        // One more: the least recently current session is dropped, and its messages find no session.
        alice.Start(bob);
        Assert.Equal(SessionRecord.MaxArchivedSessions, alice.Record.Archived.Count);
        Assert.DoesNotContain(first, alice.Record.Sessions);
        Refused.By(() => alice.Receive(fromOldest), ProtocolError.WrongSession);
    }

    [Fact]
    public void Record_SerializedAndRestored_KeepsEverySession()
    {
        using var alice = new RecordParty();
        using var bob = new RecordParty();
        alice.Start(bob);
        bob.Receive(alice.Send(bob, Text("hello")));
        var old = bob.Send(alice, Text("old"));
        alice.Start(bob);
        var restored = SessionRecord.Deserialize(alice.Record.Serialize());
        Assert.Equal(alice.Record.Serialize(), restored.Serialize());
        alice.Record = restored;
        Assert.True(alice.Receive(old).OpenedArchivedSession);
        Refused.By(() => SessionRecord.Deserialize([.. alice.Record.Serialize(), 0]), ProtocolError.InvalidState);
    }
}
