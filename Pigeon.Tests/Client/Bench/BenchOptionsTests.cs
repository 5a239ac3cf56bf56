using Pigeon.Bench;
using Pigeon.Bench.Reporting;

namespace Pigeon.Tests.Bench;

public sealed class BenchOptionsTests
{
    [Fact]
    public void Parse_PairsWithOnlyAServer_TakesTheTargetsDefaults()
    {
        var options = BenchOptions.Parse(["pairs", "--server", "http://127.0.0.1:8080"]);
        Assert.Equal(100, options.Pairs);
        Assert.Equal(1_000, options.Rate);
        Assert.Equal(TimeSpan.FromSeconds(30), options.Duration);
        Assert.Equal(TimeSpan.FromSeconds(3), options.Warmup);
        Assert.Equal(TimeSpan.Zero, options.RampUp);
        Assert.Equal(TimeSpan.Zero, options.RampDown);
        Assert.Equal("both", options.Loop);
        Assert.False(options.EndToEnd);
        Assert.Equal("poll", options.AckMode);
        Assert.True(options.AckOnPoll);
    }

    [Fact]
    public void Parse_Group_IsEndToEnd_WithItsOwnDefaultsAndBounds()
    {
        var options = BenchOptions.Parse(["group", "--server", "http://127.0.0.1:8080"]);
        Assert.Equal((100, 4, 5.0, true), (options.Members, options.Senders, options.Rate, options.EndToEnd));
        Assert.Equal(256, BenchOptions.Parse(["group", "--server", "http://127.0.0.1:8080", "--members", "256"]).Members);
        Assert.Throws<ArgumentException>(() => BenchOptions.Parse(["group", "--server", "http://127.0.0.1:8080", "--members", "1"]));
        Assert.Throws<ArgumentException>(() => BenchOptions.Parse(["group", "--server", "http://127.0.0.1:8080", "--senders", "0"]));
        Assert.Equal(1, options.Devices);
        Assert.Equal(6, BenchOptions.Parse(["group", "--server", "http://127.0.0.1:8080", "--devices", "6"]).Devices);
        Assert.Throws<ArgumentException>(() => BenchOptions.Parse(["group", "--server", "http://127.0.0.1:8080", "--devices", "7"]));
        Assert.Throws<ArgumentException>(() => BenchOptions.Parse(["pairs", "--server", "http://127.0.0.1:8080", "--devices", "2"]));
    }

    [Fact]
    public void Parse_Stages_MeasureBetweenTheWarmUpAndTheRampDown()
    {
        var options = BenchOptions.Parse(["pairs", "--server", "http://127.0.0.1:8080", "--ramp-up", "10", "--warmup", "2", "--duration", "20", "--ramp-down", "5"]);
        Assert.Equal(TimeSpan.FromSeconds(10), options.RampUp);
        Assert.Equal(TimeSpan.FromSeconds(5), options.RampDown);
        Assert.Equal(TimeSpan.FromSeconds(12), options.MeasuredFrom);
        Assert.Equal(TimeSpan.FromSeconds(32), options.MeasuredUntil);
        Assert.Throws<ArgumentException>(() => BenchOptions.Parse(["pairs", "--server", "http://127.0.0.1:8080", "--ramp-up", "-1"]));
        Assert.Throws<ArgumentException>(() => BenchOptions.Parse(["pairs", "--server", "http://127.0.0.1:8080", "--ramp-down", "soon"]));
    }

    [Fact]
    public void Parse_AckModeSeparate_AcknowledgesWithRequestsOfTheirOwn()
    {
        var options = BenchOptions.Parse(["drain", "--server", "http://127.0.0.1:8080", "--ack-mode", "separate"]);
        Assert.Equal("separate", options.AckMode);
        Assert.False(options.AckOnPoll);
        Assert.Contains("--ack-mode poll|separate", BenchOptions.Usage, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_KillPidAndKillAt_KillInTheMeasuredWindowOfTheOpenLoop()
    {
        var options = BenchOptions.Parse(["pairs", "--server", "http://127.0.0.1:8080", "--loop", "open", "--kill-pid", "4242", "--kill-at", "15"]);
        Assert.Equal(4242, options.KillPid);
        Assert.Equal(TimeSpan.FromSeconds(15), options.KillAt);
        Assert.Null(BenchOptions.Parse(["pairs", "--server", "http://127.0.0.1:8080"]).KillPid);
        string[] server = ["--server", "http://127.0.0.1:8080"];
        Assert.Contains("go together", Assert.Throws<ArgumentException>(() => BenchOptions.Parse(["pairs", .. server, "--loop", "open", "--kill-pid", "4242"])).Message, StringComparison.Ordinal);
        Assert.Contains("--loop open", Assert.Throws<ArgumentException>(() => BenchOptions.Parse(["pairs", .. server, "--kill-pid", "4242", "--kill-at", "15"])).Message, StringComparison.Ordinal);
        Assert.Contains("--loop open", Assert.Throws<ArgumentException>(() => BenchOptions.Parse(["store", .. server, "--kill-pid", "4242", "--kill-at", "15"])).Message, StringComparison.Ordinal);
        // The default window runs from 3 s (after the warm-up) to 33 s.
        Assert.Contains("measured window", Assert.Throws<ArgumentException>(() => BenchOptions.Parse(["pairs", .. server, "--loop", "open", "--kill-pid", "4242", "--kill-at", "2"])).Message, StringComparison.Ordinal);
        Assert.Contains("measured window", Assert.Throws<ArgumentException>(() => BenchOptions.Parse(["pairs", .. server, "--loop", "open", "--kill-pid", "4242", "--kill-at", "33"])).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => BenchOptions.Parse(["pairs", .. server, "--loop", "open", "--kill-pid", "0", "--kill-at", "15"]));
    }

    [Fact]
    public void Parse_LongPolls_DefaultsToTenThousandUsersAndATrickle()
    {
        var options = BenchOptions.Parse(["longpolls", "--server", "http://127.0.0.1:8080", "--e2e"]);
        Assert.Equal(10_000, options.Users);
        Assert.Equal(10, options.Rate);
        Assert.True(options.EndToEnd);
    }

    [Theory]
    [InlineData("pairs")]
    [InlineData("pairs", "--server", "http://127.0.0.1:1", "--bogus", "1")]
    [InlineData("sprint", "--server", "http://127.0.0.1:1")]
    [InlineData("pairs", "--server", "http://127.0.0.1:1", "--rate", "-3")]
    [InlineData("pairs", "--server", "http://127.0.0.1:1", "--loop", "sideways")]
    [InlineData("pairs", "--server", "http://127.0.0.1:1", "--wait", "60")]
    [InlineData("drain", "--server", "http://127.0.0.1:1", "--database", "no such=thing")]
    [InlineData("drain", "--server", "http://127.0.0.1:1", "--ack-mode", "never")]
    public void Parse_WrongCommandLine_IsRefusedWithAReason(params string[] args)
    {
        Assert.Throws<ArgumentException>(() => BenchOptions.Parse(args));
    }

    [Fact]
    public void ParseCpuTicks_AddsUserAndSystemTime_EvenWhenTheNameHoldsSpacesAndParentheses()
    {
        const string stat = "4242 (dotnet (x) y) S 1 4242 4242 0 -1 4194560 1000 0 0 0 1234 567 0 0 20 0 12 0 100 0 0";
        Assert.Equal(1234 + 567, ServerProcesses.ParseCpuTicks(stat));
    }
}
