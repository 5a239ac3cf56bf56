using Pigeon.Protocol;

namespace Pigeon.Tests.Protocol.Ratchet;

public sealed class RandomizedConversationTests
{
    private const int Steps = 400;
    private const int MaxInFlight = 40;

    public static TheoryData<int> Seeds => [.. Enumerable.Range(0, 12).Select(i => 7919 * (i + 1))];

    /// <summary>
    /// Random sends by either side, deliveries in or out of order, drops and restarts (session state
    /// serialized and restored): every delivered message decrypts to exactly what was sent. The seed and
    /// step are in every failure message, so a failure replays with the same schedule.
    /// </summary>
    [Theory]
    [MemberData(nameof(Seeds))]
    public void Ratchet_RandomInterleavingsWithDropsAndReorders_AlwaysDecryptToWhatWasSent(int seed)
    {
        var random = new Random(seed);
        using var alice = new TestParty();
        using var bob = new TestParty();
        var aliceSession = Session.Initiate(alice.Identity, bob.Bundle(withOneTime: random.Next(2) == 0), bob.AccountId);
        Session? bobSession = null;
        var toBob = new List<(byte[] Wire, byte[] Plain)>();
        var toAlice = new List<(byte[] Wire, byte[] Plain)>();
        var delivered = 0;

        for (var step = 0; step < Steps; step++)
        {
            var where = $"seed {seed}, step {step}";
            switch (random.Next(10))
            {
                case 0 or 1 or 2:
                    if (toBob.Count < MaxInFlight)
                    {
                        toBob.Add(Send(aliceSession, random));
                    }

                    break;
                case 3 or 4:
                    if (bobSession is not null && toAlice.Count < MaxInFlight)
                    {
                        toAlice.Add(Send(bobSession, random));
                    }

                    break;
                case 5 or 6:
                    if (toBob.Count > 0)
                    {
                        var (wire, plain) = Take(toBob, random);
                        byte[] received;
                        if (bobSession is null)
                        {
                            var accepted = Session.Accept(bob.Identity, bob.Prekeys, wire);
                            (bobSession, received) = (accepted.Session, accepted.Plaintext);
                        }
                        else
                        {
                            received = Decrypt(bobSession, wire, where);
                        }

                        Assert.True(plain.AsSpan().SequenceEqual(received), $"Bob read the wrong plaintext ({where})");
                        delivered++;
                    }

                    break;
                case 7:
                    if (toAlice.Count > 0)
                    {
                        var (wire, plain) = Take(toAlice, random);
                        Assert.True(plain.AsSpan().SequenceEqual(Decrypt(aliceSession, wire, where)), $"Alice read the wrong plaintext ({where})");
                        delivered++;
                    }

                    break;
                case 8:
                    // A message lost in transit: never delivered; the receiver keeps its skipped key.
                    var queue = random.Next(2) == 0 ? toBob : toAlice;
                    if (queue.Count > 0)
                    {
                        queue.RemoveAt(random.Next(queue.Count));
                    }

                    break;
                default:
                    // A restart of one side: its session comes back from the serialized state.
                    if (random.Next(2) == 0)
                    {
                        aliceSession = Session.Deserialize(aliceSession.Serialize());
                    }
                    else if (bobSession is not null)
                    {
                        bobSession = Session.Deserialize(bobSession.Serialize());
                    }

                    break;
            }
        }

        foreach (var (wire, plain) in toBob)
        {
            if (bobSession is null)
            {
                bobSession = Session.Accept(bob.Identity, bob.Prekeys, wire).Session;
                continue;
            }

            Assert.True(plain.AsSpan().SequenceEqual(Decrypt(bobSession, wire, $"seed {seed}, final delivery")), $"seed {seed}: final delivery to Bob");
        }

        foreach (var (wire, plain) in toAlice)
        {
            Assert.True(plain.AsSpan().SequenceEqual(Decrypt(aliceSession, wire, $"seed {seed}, final delivery")), $"seed {seed}: final delivery to Alice");
        }

        Assert.True(delivered > Steps / 5, $"seed {seed}: only {delivered} deliveries");
    }

    private static (byte[] Wire, byte[] Plain) Send(Session from, Random random)
    {
        var plain = new byte[random.Next(0, 300)];
        random.NextBytes(plain);
        return (from.Encrypt(plain), plain);
    }

    private static (byte[] Wire, byte[] Plain) Take(List<(byte[] Wire, byte[] Plain)> queue, Random random)
    {
        // Mostly in order, sometimes any message in flight (a reorder).
        var index = random.Next(4) == 0 ? random.Next(queue.Count) : 0;
        var item = queue[index];
        queue.RemoveAt(index);
        return item;
    }

    private static byte[] Decrypt(Session session, byte[] wire, string where)
    {
        try
        {
            return session.Decrypt(wire);
        }
        catch (ProtocolException e)
        {
            Assert.Fail($"decryption failed with {e.Reason} ({where}): {e.Message}");
            throw;
        }
    }
}
