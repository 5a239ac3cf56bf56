using Pigeon.Bench.Stats;

namespace Pigeon.Tests.Bench;

public sealed class OpenLoopScheduleTests
{
    [Theory]
    [InlineData(1_000, 33, 33_000)]
    [InlineData(20, 2, 40)]
    [InlineData(3, 1, 3)]
    [InlineData(7.5, 2, 15)]
    [InlineData(0.5, 3, 2)]
    public void Total_IsRateTimesDuration_RoundedUp(double rate, double seconds, long expected)
    {
        Assert.Equal(expected, new OpenLoopSchedule(rate, TimeSpan.FromSeconds(seconds)).Total);
    }

    [Fact]
    public void DueAt_SpacesMessagesEvenly_FromTheStart()
    {
        var schedule = new OpenLoopSchedule(1_000, TimeSpan.FromSeconds(30));
        Assert.Equal(TimeSpan.Zero, schedule.DueAt(0));
        Assert.Equal(TimeSpan.FromMilliseconds(1), schedule.DueAt(1));
        Assert.Equal(TimeSpan.FromSeconds(29.999), schedule.DueAt(schedule.Total - 1));
    }

    [Theory]
    [InlineData(1_000)]
    [InlineData(3)]
    [InlineData(7.5)]
    [InlineData(333.3)]
    public void DueBy_CountsExactlyTheMessagesWhoseTimeHasCome(double rate)
    {
        var schedule = new OpenLoopSchedule(rate, TimeSpan.FromSeconds(4));
        for (long i = 0; i < schedule.Total; i++)
        {
            var due = schedule.DueAt(i);
            Assert.Equal(i + 1, schedule.DueBy(due));
            Assert.Equal(i, schedule.DueBy(due - TimeSpan.FromTicks(1)));
        }

        Assert.Equal(0, schedule.DueBy(TimeSpan.FromTicks(-1)));
        Assert.Equal(schedule.Total, schedule.DueBy(TimeSpan.FromHours(1)));
    }

    [Fact]
    public void DueBy_DoesNotDependOnHowLateTheCallerIs()
    {
        // A sender that stalls for two seconds finds all the messages of those seconds due at once:
        // the offered load does not shrink when the server is slow.
        var schedule = new OpenLoopSchedule(100, TimeSpan.FromSeconds(10));
        Assert.Equal(301, schedule.DueBy(TimeSpan.FromSeconds(3)));
    }

    [Fact]
    public void Stages_OfferHalfALoadOnEachRamp_AndTheFullRateBetween()
    {
        // 100 msg/s: ramp-up 2 s (100), steady 3 s (300), ramp-down 4 s (200).
        var schedule = new OpenLoopSchedule(100, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(4));

        Assert.Equal(600, schedule.Total);
        Assert.Equal(TimeSpan.FromSeconds(9), schedule.Duration);
        var tick = TimeSpan.FromTicks(1);
        Assert.Equal(25, schedule.DueBy(TimeSpan.FromSeconds(1) - tick));   // 100 × 1² / (2 × 2)
        Assert.Equal(100, schedule.DueBy(TimeSpan.FromSeconds(2) - tick));
        Assert.Equal(400, schedule.DueBy(TimeSpan.FromSeconds(5) - tick));
        Assert.Equal(550, schedule.DueBy(TimeSpan.FromSeconds(7) - tick));  // 400 + 100 × (2 − 2² / 8)
        Assert.Equal(600, schedule.DueBy(TimeSpan.FromSeconds(9)));
        Assert.Equal(TimeSpan.FromSeconds(2), schedule.DueAt(100));
        Assert.Equal(TimeSpan.FromMilliseconds(2_010), schedule.DueAt(101));
    }

    [Fact]
    public void Stages_RateRisesDuringTheRampUpAndFallsDuringTheRampDown()
    {
        var schedule = new OpenLoopSchedule(1_000, TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4));
        var perSecond = Enumerable.Range(0, 10)
            .Select(second => schedule.DueBy(TimeSpan.FromSeconds(second + 1) - TimeSpan.FromTicks(1)) - schedule.DueBy(TimeSpan.FromSeconds(second) - TimeSpan.FromTicks(1)))
            .ToArray();

        Assert.Equal([125, 375, 625, 875, 1_000, 1_000, 875, 625, 375, 125], perSecond);
    }

    [Fact]
    public void Stages_DueTimesNeverGoBackwards_AndDueByAgreesWithThem()
    {
        var schedule = new OpenLoopSchedule(333.3, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2.5));
        var previous = TimeSpan.MinValue;
        for (long i = 0; i < schedule.Total; i++)
        {
            var due = schedule.DueAt(i);
            Assert.True(due >= previous, $"message {i} is due before message {i - 1}");
            Assert.True(due < schedule.Duration, $"message {i} is due after the end");
            Assert.True(schedule.DueBy(due) > i);
            Assert.True(schedule.DueBy(due - TimeSpan.FromTicks(1)) <= i);
            previous = due;
        }
    }
}
