using Pigeon.Bench.Stats;

namespace Pigeon.Tests.Bench;

public sealed class RateRecoveryTests
{
    [Fact]
    public void SecondsUntilBack_ACountThatNeverFell_IsBackAtOnce()
    {
        long[] perSecond = [200, 200, 200, 200, 200, 200, 200, 200];
        Assert.Equal(0, RateRecovery.SecondsUntilBack(perSecond, 3.4, 8, 200));
    }

    [Fact]
    public void SecondsUntilBack_AnOutage_EndsWhereEveryLaterWindowHoldsTheRate()
    {
        // Killed at 3.5 s: nothing in 4–6, a burst of the backlog in 7, the rate again from 8.
        long[] perSecond = [200, 200, 200, 100, 0, 0, 0, 900, 200, 200, 200, 200];
        // The windows from 5 on hold the 540 needed, thanks to the burst; 7 is the first second to hold 180 itself.
        Assert.Equal(3.5, RateRecovery.SecondsUntilBack(perSecond, 3.5, 12, 200));
    }

    [Fact]
    public void SecondsUntilBack_ALaterDip_MovesTheRecoveryPastIt()
    {
        // Back from 6, then a second outage in 9–10: only what follows that counts.
        long[] perSecond = [200, 200, 0, 0, 0, 0, 200, 200, 200, 0, 0, 200, 200, 200, 200];
        Assert.Equal(9, RateRecovery.SecondsUntilBack(perSecond, 2, 15, 200));
    }

    [Fact]
    public void SecondsUntilBack_OneSlowSecondOfALoadedMachine_DoesNotCount()
    {
        // 150 in one second lowers its windows to 550 of the 540 needed.
        long[] perSecond = [200, 200, 200, 200, 150, 200, 200, 200, 200];
        Assert.Equal(0, RateRecovery.SecondsUntilBack(perSecond, 1, 9, 200));
    }

    [Fact]
    public void SecondsUntilBack_NoRecoveryBeforeTheEnd_IsNull()
    {
        long[] perSecond = [200, 200, 200, 0, 0, 0, 0, 0, 0, 50, 60, 70];
        Assert.Null(RateRecovery.SecondsUntilBack(perSecond, 3, 12, 200));
        // Counts after the end of the steady window are not judged.
        long[] recoversLate = [200, 200, 0, 0, 0, 200, 200, 200];
        Assert.Null(RateRecovery.SecondsUntilBack(recoversLate, 2, 5, 200));
    }
}
