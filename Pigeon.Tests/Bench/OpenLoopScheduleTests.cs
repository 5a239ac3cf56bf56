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
}
