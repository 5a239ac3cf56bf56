using Pigeon.Bench;
using Pigeon.Bench.Reporting;
using Pigeon.Bench.Scenarios;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Bench;

/// <summary>
/// Every scenario of the load generator, in-process with tiny counts, against a silo and a gateway
/// running as real processes: the bench must lose nothing and see no failure on a healthy server.
/// </summary>
public sealed class BenchSmokeTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    // The defaults protect a public server; a load test from one address would trip them at once.
    private static readonly Dictionary<string, string> RaisedLimits = new()
    {
        ["Pigeon__Limits__AccountRequestsPerSecond"] = "10000",
        ["Pigeon__Limits__AccountBurst"] = "10000",
        ["Pigeon__Limits__AnonymousRequestsPerMinute"] = "100000",
        ["Pigeon__Limits__MaxConcurrentLongPolls"] = "16",
        // The closed loop deposits sealed to each recipient as fast as it can.
        ["Pigeon__Limits__SealedDepositsPerSecondPerRecipient"] = "100000",
        ["Pigeon__Limits__SealedDepositBurstPerRecipient"] = "100000",
    };

    [Fact]
    public async Task Bench_EveryScenarioWithTinyCounts_LosesNothingAndFailsNothing()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Ct);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        // The store scenario's one sender writes more to each recipient than a stranger may leave.
        await cluster.StartSiloAsync(Ct, new Dictionary<string, string> { ["Pigeon__Mailbox__MaxPendingPerIdentifiedSender"] = "100000" });
        var gateway = await cluster.StartGatewayAsync(Ct, RaisedLimits);
        BenchOptions Options(string scenario) => new()
        {
            Scenario = scenario,
            Server = gateway.BaseAddress,
            Quiet = true,
            Grace = TimeSpan.FromSeconds(10),
            RegisterConcurrency = 8,
        };

        var pairs = await BenchRunner.RunAsync(Options("pairs") with
        {
            Pairs = 3, Rate = 20, Warmup = TimeSpan.FromSeconds(0.5), Duration = TimeSpan.FromSeconds(2), WaitSeconds = 10, EndToEnd = true,
        }, "pairs (test)", Ct);
        Assert.Equal(2, pairs.Phases.Count);
        foreach (var phase in pairs.Phases)
        {
            AssertClean(phase);
            Assert.True(phase.Latency!.Count > 0, $"{phase.Name}: no latency measured");
            Assert.Equal(0, phase.Figures["undecryptable"]);
            // Acknowledged on the next poll, or posted when the readers stopped; each exactly once.
            Assert.Equal(phase.Messages.Delivered, phase.Acknowledged);
        }

        Assert.Equal(50, pairs.Phases[0].Messages.Sent);

        // In stages: 20 msg/s reached over 1 s, held 0.5 s warm-up + 1 s measured, left over 1 s.
        // A group of 5, 2 of them sending: each message is one sealed deposit of 4 real ratchet envelopes.
        var group = await BenchRunner.RunAsync(Options("group") with
        {
            Members = 5, Senders = 2, Rate = 5, Warmup = TimeSpan.FromSeconds(0.5), Duration = TimeSpan.FromSeconds(2), WaitSeconds = 10, EndToEnd = true,
        }, "group (test)", Ct);
        var groupPhase = Assert.Single(group.Phases);
        AssertClean(groupPhase);
        Assert.Equal(0, groupPhase.Figures["undecryptable"]);
        Assert.Equal(4 * 13, groupPhase.Messages.Sent);
        Assert.Equal(groupPhase.Messages.Delivered, groupPhase.Acknowledged);
        Assert.True(groupPhase.Figures["request_bytes"] > 4 * 256, "the deposit carries four envelopes");
        Assert.True(groupPhase.Figures["client_encrypt_ms_p50"] > 0 && groupPhase.Figures["server_commit_ms_p50"] > 0);

        // Two devices each: a message is 4 sealed envelopes (the 2 other members' 2 devices, one request)
        // and 1 copy to the sender's other device (identified); a wrong device set would be refused (409),
        // an envelope at the wrong device would not open.
        var devices = await BenchRunner.RunAsync(Options("group") with
        {
            Members = 3, Senders = 2, Devices = 2, Rate = 5, Warmup = TimeSpan.FromSeconds(0.5), Duration = TimeSpan.FromSeconds(2), WaitSeconds = 10,
            EndToEnd = true,
        }, "group --devices 2 (test)", Ct);
        var devicesPhase = Assert.Single(devices.Phases);
        AssertClean(devicesPhase);
        Assert.Equal(0, devicesPhase.Figures["undecryptable"]);
        Assert.Equal(5 * 13, devicesPhase.Messages.Sent);
        Assert.Equal(devicesPhase.Messages.Delivered, devicesPhase.Acknowledged);
        Assert.Equal((4, 1, 1, 1), ((int)devicesPhase.Figures["envelopes_sealed"], (int)devicesPhase.Figures["envelopes_own_devices"],
            (int)devicesPhase.Figures["requests_sealed"], (int)devicesPhase.Figures["requests_own_devices"]));
        Assert.True(devicesPhase.Figures["server_commit_own_devices_ms_p50"] > 0 && devicesPhase.Figures["request_bytes_own_devices"] > 256);
        Assert.Equal(3, devices.UsersRegistered);

        var staged = await BenchRunner.RunAsync(Options("pairs") with
        {
            Pairs = 3, Rate = 20, RampUp = TimeSpan.FromSeconds(1), Warmup = TimeSpan.FromSeconds(0.5), Duration = TimeSpan.FromSeconds(1),
            RampDown = TimeSpan.FromSeconds(1), WaitSeconds = 10,
        }, "pairs in stages (test)", Ct);
        Assert.Equal(2, staged.Phases.Count);
        foreach (var phase in staged.Phases)
        {
            AssertClean(phase);
            Assert.True(phase.Latency!.Count > 0, $"{phase.Name}: no latency measured");
            Assert.Equal(phase.Messages.Delivered, phase.Acknowledged);
        }

        Assert.Equal(10 + 30 + 10, staged.Phases[0].Messages.Sent);
        Assert.Equal(20, staged.Phases[0].Latency!.Count);

        var longPolls = await BenchRunner.RunAsync(Options("longpolls") with
        {
            Users = 20, Rate = 5, RampPerSecond = 100, Duration = TimeSpan.FromSeconds(2), WaitSeconds = 5,
        }, "longpolls (test)", Ct);
        var held = Assert.Single(longPolls.Phases);
        AssertClean(held);
        Assert.Equal(20, held.Figures["connections_peak"]);
        Assert.Equal(20, held.Figures["connections_min_while_holding"]);
        Assert.Equal(held.Messages.Delivered, held.Acknowledged);

        // More than one receive per user, so acknowledgements ride on polls that return at once too.
        var drain = await BenchRunner.RunAsync(Options("drain") with
        {
            Users = 2, Messages = 250, Batch = 50, Concurrency = 2, Database = database.ConnectionString,
        }, "drain (test)", Ct);
        Assert.Equal(2, drain.Phases.Count);
        Assert.Equal(250, drain.Phases[0].Committed);
        AssertClean(drain.Phases[1]);
        Assert.Equal(250, drain.Phases[1].Acknowledged);
        Assert.True(drain.Phases[1].Figures.ContainsKey("envelope_rows_gone_after_s"));

        var separate = await BenchRunner.RunAsync(Options("drain") with
        {
            Users = 3, Messages = 60, Batch = 10, Concurrency = 2, Database = database.ConnectionString, AckMode = "separate",
        }, "drain --ack-mode separate (test)", Ct);
        AssertClean(separate.Phases[1]);
        Assert.Equal(60, separate.Phases[1].Acknowledged);
        Assert.True(separate.Phases[1].Figures.ContainsKey("envelope_rows_gone_after_s"));
    }

    private static void AssertClean(PhaseResult phase)
    {
        Assert.True(phase.Errors.Count == 0, $"{phase.Name}: failures {string.Join(", ", phase.Errors)}");
        Assert.Equal(0, phase.Messages.Lost);
        Assert.Equal(0, phase.Messages.Duplicates);
        Assert.Equal(0, phase.Messages.Unexpected);
        Assert.Equal(0, phase.Messages.FailedDeposits);
        Assert.Equal(phase.Messages.Sent, phase.Messages.Delivered);
        Assert.True(phase.Messages.Sent > 0, $"{phase.Name}: nothing sent");
    }
}
