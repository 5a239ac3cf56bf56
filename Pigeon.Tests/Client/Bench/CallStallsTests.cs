using Microsoft.Extensions.Time.Testing;
using Pigeon.Bench.Stats;

namespace Pigeon.Tests.Bench;

public sealed class CallStallsTests
{
    private readonly FakeTimeProvider _time = new();

    private long At(double seconds) => (long)(seconds * _time.TimestampFrequency);

    [Fact]
    public void Stall_ALongPollThatWaitedItsWaitOut_DidNotStall()
    {
        var stalls = new CallStalls(_time, At(0));
        Assert.Equal(TimeSpan.Zero, stalls.Stall(At(10), At(35), TimeSpan.FromSeconds(25), succeeded: true, killedAt: null));
        Assert.Equal(TimeSpan.FromSeconds(2), stalls.Stall(At(10), At(37), TimeSpan.FromSeconds(25), succeeded: true, killedAt: null));
    }

    [Fact]
    public void Stall_AFailedCallAcrossTheKill_CountsFromTheKill()
    {
        var stalls = new CallStalls(_time, At(0));
        // A long-poll sent at 10 s, failed by the 30 s response timeout at 40 s after a kill at 15 s.
        Assert.Equal(TimeSpan.FromSeconds(25), stalls.Stall(At(10), At(40), TimeSpan.FromSeconds(25), succeeded: false, killedAt: At(15)));
        // A deposit sent after the kill counts whole.
        Assert.Equal(TimeSpan.FromSeconds(3), stalls.Stall(At(16), At(19), TimeSpan.Zero, succeeded: false, killedAt: At(15)));
    }

    [Fact]
    public void Record_KeepsTheLongest_WithWhenItWasSent()
    {
        var stalls = new CallStalls(_time, At(0));
        Assert.Null(stalls.Longest);
        stalls.Killed(At(15));
        Assert.Equal(At(15), stalls.KilledAt);
        stalls.Record("deposit", At(14), At(14.5), TimeSpan.Zero, succeeded: true);
        stalls.Record("receive", At(14.8), At(45.4), TimeSpan.FromSeconds(25), succeeded: false);
        stalls.Record("deposit", At(20), At(21), TimeSpan.Zero, succeeded: true);
        var longest = stalls.Longest!;
        Assert.Equal("receive", longest.Kind);
        Assert.Equal(14.8, longest.StartedAtSeconds, 6);
        Assert.Equal(30.4, longest.Seconds, 6);
        Assert.False(longest.Succeeded);
    }
}
