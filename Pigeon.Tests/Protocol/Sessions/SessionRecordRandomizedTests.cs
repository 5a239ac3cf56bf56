using Pigeon.Protocol;

namespace Pigeon.Tests.Protocol.Sessions;

public sealed class SessionRecordRandomizedTests
{
    private const int Steps = 300;
    private const int MaxRestarts = SessionRecord.MaxArchivedSessions - 2;

    public static TheoryData<int> Seeds => [.. Enumerable.Range(1, 8).Select(i => 104_729 * i)];

    /// <summary>
    /// Two sides exchange sealed envelopes through their session records while either side may start
    /// a new session at any time (so messages arrive for archived sessions and setups cross), deliveries
    /// are reordered, and delivered envelopes are duplicated or replayed later. Every first delivery
    /// decrypts to what was sent; every repeat is refused and changes nothing; after the queues drain,
    /// one exchange each way leaves both sides on the same session. Seed and step are in every message.
    /// </summary>
    [Theory]
    [MemberData(nameof(Seeds))]
    public void Records_ReorderingDuplicationAndReplayAcrossArchivedSessions_DeliverEachMessageOnce(int seed)
    {
        var random = new Random(seed);
        using var alice = new RecordParty();
        using var bob = new RecordParty();
        alice.Start(bob);
        var toBob = new List<(byte[] Envelope, byte[] Plain)>();
        var toAlice = new List<(byte[] Envelope, byte[] Plain)>();
        var delivered = new List<(byte[] Envelope, RecordParty Receiver)>();
        var (restarts, archivedOpens, repeats) = (0, 0, 0);

        void Deliver(List<(byte[] Envelope, byte[] Plain)> queue, RecordParty receiver, bool inOrder, string where)
        {
            var index = inOrder || random.Next(3) != 0 ? 0 : random.Next(queue.Count);
            var (envelope, plain) = queue[index];
            queue.RemoveAt(index);
            SessionRecordDecryption result;
            try
            {
                result = receiver.Receive(envelope);
            }
            catch (ProtocolException e)
            {
                Assert.Fail($"a first delivery failed with {e.Reason} ({where}): {e.Message}");
                throw;
            }

            Assert.True(plain.AsSpan().SequenceEqual(result.Plaintext), $"wrong plaintext ({where})");
            archivedOpens += result.OpenedArchivedSession ? 1 : 0;
            delivered.Add((envelope, receiver));
        }

        for (var step = 0; step < Steps; step++)
        {
            var where = $"seed {seed}, step {step}";
            switch (random.Next(12))
            {
                case 0 or 1 or 2:
                    toBob.Add(Send(alice, bob, random));
                    break;
                case 3 or 4:
                    if (bob.Record.Current is not null)
                    {
                        toAlice.Add(Send(bob, alice, random));
                    }

                    break;
                case 5 or 6 when toBob.Count > 0:
                    Deliver(toBob, bob, inOrder: false, where);
                    break;
                case 7 or 8 when toAlice.Count > 0:
                    Deliver(toAlice, alice, inOrder: false, where);
                    break;
                case 9 or 10 when delivered.Count > 0:
                    // A duplicate (just delivered) or a replay (any earlier envelope).
                    var (envelope, receiver) = random.Next(2) == 0 ? delivered[^1] : delivered[random.Next(delivered.Count)];
                    var before = receiver.Snapshot();
                    var refused = Assert.Throws<ProtocolException>(() => receiver.Receive(envelope));
                    Assert.True(refused.Reason is ProtocolError.DuplicateMessage or ProtocolError.ReplayedSetup or ProtocolError.DecryptionFailed, $"repeat refused with {refused.Reason} ({where})");
                    Assert.True(before.AsSpan().SequenceEqual(receiver.Snapshot()), $"a refused repeat changed the record ({where})");
                    repeats++;
                    break;
                case 11 when restarts < MaxRestarts:
                    // Either side starts over; the other may be sending on the old session meanwhile.
                    var starter = random.Next(2) == 0 ? alice : bob;
                    starter.Start(starter == alice ? bob : alice);
                    restarts++;
                    break;
                case 11:
                    // A process restart: the record comes back from its blob.
                    var restarted = random.Next(2) == 0 ? alice : bob;
                    restarted.Record = SessionRecord.Deserialize(restarted.Record.Serialize());
                    break;
            }
        }

        while (toBob.Count > 0)
        {
            Deliver(toBob, bob, inOrder: true, $"seed {seed}, draining to Bob");
        }

        while (toAlice.Count > 0)
        {
            Deliver(toAlice, alice, inOrder: true, $"seed {seed}, draining to Alice");
        }

        for (var round = 0; round < 2; round++)
        {
            Assert.Equal("ping"u8.ToArray(), bob.Receive(alice.Send(bob, "ping"u8.ToArray())).Plaintext);
            Assert.Equal("pong"u8.ToArray(), alice.Receive(bob.Send(alice, "pong"u8.ToArray())).Plaintext);
        }

        Assert.True(alice.Record.Current!.SessionId.AsSpan().SequenceEqual(bob.Record.Current!.SessionId), $"seed {seed}: the sides ended on different sessions");
        Assert.True(repeats > 10, $"seed {seed}: only {repeats} repeats");
        Assert.True(restarts > 0 && archivedOpens > 0, $"seed {seed}: {restarts} restarts, {archivedOpens} archived opens");
    }

    private static (byte[] Envelope, byte[] Plain) Send(RecordParty from, RecordParty to, Random random)
    {
        var plain = new byte[random.Next(0, 200)];
        random.NextBytes(plain);
        return (from.Send(to, plain), plain);
    }
}
