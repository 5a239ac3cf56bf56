using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Client;

/// <summary>
/// Alice and Bob talk while their devices join and leave at random, over real processes (issue 16).
/// A seed (one of those the test runs with, or <c>PIGEON_TEST_SEED</c>; printed) draws <see cref="Steps"/>
/// steps, each one of: a live device of Alice or Bob sends the other a text numbered by its step; a
/// live device links a new device of its account (<c>devices link</c>, <c>devices add</c>; at most
/// <see cref="MaxLiveDevices"/> live devices an account); a live device removes another live device of
/// its account (<c>devices remove</c>). Every command must succeed. A device is linked from the step
/// that linked it (an account's first device from the start) until the step that removed it. Before a
/// removal, and at the end, every live device syncs, in rounds, until a round brings none of them
/// anything: a client refuses a text from a device its account has removed, even one sent before the
/// removal, so the test lets the device's texts arrive first. At the end each live device holds in its
/// history with the other account exactly the texts sent at the steps after the one that linked it,
/// each once: the other account's as "in" items, its own account's (its own and its other devices') as
/// "out" items. Texts sent before it was linked are not there (history is not transferred, a product
/// choice). No sync refuses a text from a removed device, and every removed device is refused when it syncs.
/// </summary>
public sealed partial class DeviceChurnTests
{
    /// <summary>The environment variable that draws other steps (or replays a run: the seed it printed).</summary>
    public const string SeedVariable = "PIGEON_TEST_SEED";

    /// <summary>How many steps one run draws.</summary>
    public const int Steps = 16;

    /// <summary>The most live devices an account has at once.</summary>
    public const int MaxLiveDevices = 3;

    private const int MaxSyncRounds = 5;

    private static readonly Dictionary<string, string> OneAddressForEveryone = new() { ["Pigeon__Limits__AnonymousRequestsPerMinute"] = "100000" };

    private static readonly Dictionary<string, string> Names = new() { ["alice"] = "Alice", ["bob"] = "Bob" };

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    // Fixed seeds, so every run draws the same steps: 3 and 14 each found a bug in the fan-out once
    // (a message whose devices were all removed was dropped; a stale own list after a contact's ended the send).
    [Theory]
    [InlineData(20261204)]
    [InlineData(3)]
    [InlineData(14)]
    public async Task DevicesJoiningAndLeaving_WhileTwoPeopleTalk_LeaveEachLiveDeviceWithWhatWasSentWhileItWasLinked_Once(int fixedSeed)
    {
        var seed = Environment.GetEnvironmentVariable(SeedVariable) is { Length: > 0 } given
            ? int.Parse(given, CultureInfo.InvariantCulture)
            : fixedSeed;
        var random = new Random(seed);
        var log = new List<string> { $"seed {seed} ({SeedVariable}={seed} replays these steps)" };
        TestContext.Current.TestOutputHelper?.WriteLine(log[0]);
        TestContext.Current.SendDiagnosticMessage(log[0]);

        await using var database = await TestDatabase.CreateAsync(ct: Cancellation);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        await cluster.StartSiloAsync(Cancellation);
        var gateway = await cluster.StartGatewayAsync(Cancellation, OneAddressForEveryone);
        using var cli = new CliHarness();
        await EndToEndTests.InitContactsAsync(cli, gateway);
        var devices = new List<Device> { new("alice", "alice", 1, -1), new("bob", "bob", 1, -1) };
        var sent = new List<Sent>();
        var profiles = new Dictionary<string, int> { ["alice"] = 1, ["bob"] = 1 };

        for (var step = 0; step < Steps; step++)
        {
            var action = random.Next(4);
            var account = random.Next(2) == 0 ? "alice" : "bob";
            var own = devices.Where(d => d.Account == account && d.RemovedAt is null).ToList();
            var actor = own[random.Next(own.Count)];
            if (action == 2 && own.Count < MaxLiveDevices)
            {
                var profile = $"{account}{++profiles[account]}";
                var (code, linking) = await DeviceTests.StartLinkAsync(cli, gateway, profile);
                var added = await cli.RunAsync(actor.Profile, "--json", "devices", "add", code);
                Assert.True(added.ExitCode == 0, Report(log, $"{actor.Profile}: devices add failed: {added}"));
                Assert.True(await linking.WaitAsync(TimeSpan.FromSeconds(60), Cancellation) == 0, Report(log, $"{profile}: devices link failed"));
                var deviceId = JsonDocument.Parse(added.Output).RootElement.GetProperty("deviceId").GetUInt32();
                devices.Add(new Device(account, profile, deviceId, step));
                log.Add($"{step,2}: {actor.Profile} links {profile} (device {deviceId})");
            }
            else if (action == 3 && own.Count > 1)
            {
                var others = own.Where(d => d != actor).ToList();
                var removed = others[random.Next(others.Count)];
                // What the device sent must arrive before it goes: a text from a removed device is refused
                // by whoever receives it afterwards, however long before its removal it was sent.
                await SyncUntilQuietAsync(cli, [.. devices.Where(d => d.RemovedAt is null)], log, $"before step {step}");
                var run = await cli.RunAsync(actor.Profile, "devices", "remove", removed.DeviceId.ToString(CultureInfo.InvariantCulture));
                Assert.True(run.ExitCode == 0, Report(log, $"{actor.Profile}: devices remove {removed.DeviceId} failed: {run}"));
                removed.RemovedAt = step;
                log.Add($"{step,2}: {actor.Profile} removes {removed.Profile} (device {removed.DeviceId})");
            }
            else
            {
                var text = $"m{step:D2} from {actor.Profile}";
                var run = await cli.RunAsync(actor.Profile, "send", Names[Other(account)], text);
                log.Add($"{step,2}: {actor.Profile} sends '{text}' (exit {run.ExitCode})");
                Assert.True(run.ExitCode == 0, Report(log, $"{actor.Profile}: send failed: {run}"));
                sent.Add(new Sent(step, account));
            }
        }

        var live = devices.Where(d => d.RemovedAt is null).ToList();
        await SyncUntilQuietAsync(cli, live, log, "at the end");
        Assert.DoesNotContain(log, line => line.Contains("which the account removed", StringComparison.Ordinal));
        foreach (var device in devices.Where(d => d.RemovedAt is not null))
        {
            var run = await cli.RunAsync(device.Profile, "sync", "--wait", "0");
            Assert.True(run.ExitCode == 4 && run.Error.Contains("This device was removed from its account", StringComparison.Ordinal),
                Report(log, $"{device.Profile}, removed, could sync: {run}"));
        }

        foreach (var device in live)
        {
            var expected = sent.Where(s => s.Step > device.LinkedAt)
                .Select(s => $"{(s.Account == device.Account ? "out" : "in")} {s.Step:D2}").Order(StringComparer.Ordinal).ToList();
            var held = await TextsAsync(cli, device.Profile, Names[Other(device.Account)]);
            Assert.True(expected.SequenceEqual(held), Report(log,
                $"{device.Profile} (device {device.DeviceId}, linked at step {device.LinkedAt}) holds [{string.Join(", ", held)}], expected [{string.Join(", ", expected)}]"));
        }

        TestContext.Current.TestOutputHelper?.WriteLine(string.Join('\n', log));
    }

    // Every device syncs, round after round, until a round in which none receives anything.
    private static async Task SyncUntilQuietAsync(CliHarness cli, List<Device> live, List<string> log, string when)
    {
        for (var round = 1; ; round++)
        {
            var quiet = true;
            foreach (var device in live)
            {
                var run = await cli.RunAsync(device.Profile, "sync", "--wait", "0");
                log.Add($"sync {when}, round {round}: {device.Profile} exit {run.ExitCode}: {run.Output.Trim()} {run.Error.Trim()}".ReplaceLineEndings(" | "));
                quiet &= run.ExitCode == 0 && run.Output.Contains("No new messages.", StringComparison.Ordinal);
            }

            if (quiet)
            {
                return;
            }

            Assert.True(round < MaxSyncRounds, Report(log, $"{MaxSyncRounds} rounds of sync {when} still brought something"));
        }
    }

    private static string Other(string account) => account == "alice" ? "bob" : "alice";

    // The texts of a conversation as "in NN" / "out NN" (NN: the step that sent it), sorted; any other text fails.
    private static async Task<List<string>> TextsAsync(CliHarness cli, string profile, string contact)
    {
        var history = JsonDocument.Parse(await cli.OkAsync(profile, "--json", "history", contact, "--limit", "1000")).RootElement;
        return [.. history.EnumerateArray().Where(e => e.GetProperty("kind").GetString() == "text").Select(e =>
        {
            var body = e.GetProperty("body").GetString()!;
            var match = Numbered().Match(body);
            Assert.True(match.Success, $"{profile} holds a text nobody sent: '{body}'");
            return $"{e.GetProperty("direction").GetString()} {match.Groups[1].Value}";
        }).Order(StringComparer.Ordinal)];
    }

    private static string Report(List<string> log, string failure) => $"{failure}\n{string.Join('\n', log)}";

    [GeneratedRegex(@"^m(\d{2}) from [a-z]+\d*$")]
    private static partial Regex Numbered();

    private sealed class Device(string account, string profile, uint deviceId, int linkedAt)
    {
        public string Account { get; } = account;

        public string Profile { get; } = profile;

        public uint DeviceId { get; } = deviceId;

        /// <summary>The step that linked it; -1 for an account's first device.</summary>
        public int LinkedAt { get; } = linkedAt;

        public int? RemovedAt { get; set; }
    }

    private sealed record Sent(int Step, string Account);
}
