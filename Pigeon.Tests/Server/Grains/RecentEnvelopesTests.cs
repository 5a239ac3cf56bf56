using Pigeon.Grains.Abstractions.Mailboxes;
using Pigeon.Grains.Mailboxes;

namespace Pigeon.Tests.Grains;

public sealed class RecentEnvelopesTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Later = Now.AddDays(1);

    private static Envelope At(long sequence, int size = 10) => new(Guid.NewGuid(), sequence, new byte[size], Now);

    // How many envelopes are held: everything above the complete point is.
    private static int Held(RecentEnvelopes recent) =>
        recent.TryRead(recent.CompleteAfter, int.MaxValue, Now, out var found, out _) ? found.Count : 0;

    [Fact]
    public void TryRead_BeforeTheFirstReset_SendsTheReaderToTheTable()
    {
        var recent = new RecentEnvelopes(8, 1024);

        Assert.False(recent.TryRead(0, 10, Now, out _, out _));
    }

    [Fact]
    public void TryRead_FromTheCompletePoint_ReturnsHeldEnvelopesInSequenceOrder()
    {
        var recent = new RecentEnvelopes(8, 1024);
        recent.Reset(lastSequence: 10);
        var (first, second, third) = (At(12), At(15), At(13));
        recent.Add(first, Later);
        recent.Add(second, Later);
        recent.Add(third, Later);

        Assert.True(recent.TryRead(10, 10, Now, out var found, out var hasMore));
        Assert.Equal([first, third, second], found);
        Assert.False(hasMore);
        Assert.False(recent.TryRead(9, 10, Now, out _, out _));
    }

    [Fact]
    public void TryRead_MoreThanMax_ReportsMore()
    {
        var recent = new RecentEnvelopes(8, 1024);
        recent.Reset(0);
        recent.Add(At(1), Later);
        recent.Add(At(2), Later);
        recent.Add(At(3), Later);

        Assert.True(recent.TryRead(1, 1, Now, out var found, out var hasMore));
        Assert.Equal(2, Assert.Single(found).Sequence);
        Assert.True(hasMore);
    }

    [Fact]
    public void Add_PastTheCountBound_LetsTheOldestGoAndMovesTheCompletePoint()
    {
        var recent = new RecentEnvelopes(2, 1024);
        recent.Reset(0);
        recent.Add(At(1), Later);
        recent.Add(At(2), Later);
        recent.Add(At(3), Later);

        Assert.Equal(2, Held(recent));
        Assert.Equal(1, recent.CompleteAfter);
        Assert.False(recent.TryRead(0, 10, Now, out _, out _));
        Assert.True(recent.TryRead(1, 10, Now, out var found, out _));
        Assert.Equal([2L, 3L], found.Select(e => e.Sequence));
    }

    [Fact]
    public void Add_PastTheByteBound_LetsTheOldestGo()
    {
        var recent = new RecentEnvelopes(100, 25);
        recent.Reset(0);
        recent.Add(At(1, size: 10), Later);
        recent.Add(At(2, size: 10), Later);
        recent.Add(At(3, size: 10), Later);

        Assert.Equal(2, Held(recent));
        Assert.Equal(1, recent.CompleteAfter);
    }

    [Fact]
    public void Add_AtOrBelowTheCompletePoint_IsIgnored()
    {
        var recent = new RecentEnvelopes(8, 1024);
        recent.Reset(5);
        recent.Add(At(5), Later);

        Assert.Equal(0, Held(recent));
    }

    [Fact]
    public void Remove_ForgetsAcknowledgedEnvelopesAndTheirBytes()
    {
        var recent = new RecentEnvelopes(8, 20);
        recent.Reset(0);
        var (first, second) = (At(1), At(2));
        recent.Add(first, Later);
        recent.Add(second, Later);

        recent.Remove([first.MessageId]);
        recent.Add(At(3), Later);

        // Had the removed bytes been kept, the third envelope would have pushed the second out.
        Assert.Equal(2, Held(recent));
        Assert.Equal(0, recent.CompleteAfter);
        Assert.True(recent.TryRead(0, 10, Now, out var found, out _));
        Assert.Equal([2L, 3L], found.Select(e => e.Sequence));
    }

    [Fact]
    public void TryRead_SkipsExpiredEnvelopes()
    {
        var recent = new RecentEnvelopes(8, 1024);
        recent.Reset(0);
        recent.Add(At(1), Now);
        var live = At(2);
        recent.Add(live, Later);

        Assert.True(recent.TryRead(0, 10, Now, out var found, out _));
        Assert.Equal(live, Assert.Single(found));
    }
}
