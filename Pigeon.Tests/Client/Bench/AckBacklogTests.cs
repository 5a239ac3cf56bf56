using Pigeon.Bench.Stats;

namespace Pigeon.Tests.Bench;

public sealed class AckBacklogTests
{
    private static Phase NewPhase(string name = "p") => new(name, TimeProvider.System, 10);

    [Fact]
    public void Confirmed_CountsWhatTheServerDeleted_InThePhaseOfReceipt_AndReleasesTheHold()
    {
        var phase = NewPhase();
        var backlog = new AckBacklog();
        var ids = Enumerable.Range(0, 3).Select(_ => Guid.NewGuid()).ToArray();
        foreach (var id in ids)
        {
            backlog.Add(id, phase);
        }

        Assert.Equal(3, phase.AcknowledgementsHeld);
        Assert.Equal(3, backlog.Confirmed(backlog.Ids, deleted: 3));
        Assert.Equal(0, backlog.Count);
        Assert.Equal(3, phase.Acknowledged);
        Assert.Equal(0, phase.AcknowledgementsHeld);
    }

    [Fact]
    public void Confirmed_AfterAFailedRequestThatAlreadyDeletedThem_StillCountsEachOnce()
    {
        var phase = NewPhase();
        var backlog = new AckBacklog();
        Guid a = Guid.NewGuid(), b = Guid.NewGuid();
        backlog.Add(a, phase);
        backlog.Add(b, phase);

        // The poll that carried them was cancelled after the server deleted a and b; the flush finds none.
        backlog.Failed([a, b]);
        Assert.Equal(2, backlog.Confirmed([a, b], deleted: 0));

        Assert.Equal(2, phase.Acknowledged);
        Assert.Equal(0, phase.AcknowledgementsHeld);
    }

    [Fact]
    public void Confirmed_WhenTheServerDeletesFewerThanItMustHave_CountsOnlyWhatItCanExplain()
    {
        var phase = NewPhase();
        var backlog = new AckBacklog();
        Guid doubtful = Guid.NewGuid(), sure1 = Guid.NewGuid(), sure2 = Guid.NewGuid();
        backlog.Add(doubtful, phase);
        backlog.Failed([doubtful]);
        backlog.Add(sure1, phase);
        backlog.Add(sure2, phase);

        // sure1 and sure2 were present, so at least 2 deletions were due; 1 is a shortfall.
        Assert.Equal(2, backlog.Confirmed([doubtful, sure1, sure2], deleted: 1));

        Assert.Equal(2, phase.Acknowledged);
        Assert.Equal(0, phase.AcknowledgementsHeld);
    }

    [Fact]
    public void Confirmed_OnlyTouchesTheIdsItCarried_AndSplitsByPhase()
    {
        Phase first = NewPhase("first"), second = NewPhase("second");
        var backlog = new AckBacklog();
        Guid a = Guid.NewGuid(), b = Guid.NewGuid(), c = Guid.NewGuid();
        backlog.Add(a, first);
        backlog.Add(b, second);
        backlog.Add(c, second);

        Assert.Equal(2, backlog.Confirmed([a, b], deleted: 2));

        Assert.Equal([c], backlog.Ids);
        Assert.Equal(1, first.Acknowledged);
        Assert.Equal(1, second.Acknowledged);
        Assert.Equal(0, first.AcknowledgementsHeld);
        Assert.Equal(1, second.AcknowledgementsHeld);
    }

    [Fact]
    public void Failed_KeepsTheIdsHeld()
    {
        var phase = NewPhase();
        var backlog = new AckBacklog();
        var id = Guid.NewGuid();
        backlog.Add(id, phase);

        backlog.Failed([id]);

        Assert.Equal([id], backlog.Ids);
        Assert.Equal(0, phase.Acknowledged);
        Assert.Equal(1, phase.AcknowledgementsHeld);
    }
}
