using System.Text.Json;
using System.Text.RegularExpressions;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Client;

/// <summary>
/// Several devices per account over real processes (issue 16): Alice links a second device with a code
/// through the provisioning slot; what Bob sends reaches both, what one of Alice's devices sends shows
/// as sent on the other, and a removed device receives nothing more and cannot sign in.
/// </summary>
public sealed partial class DeviceTests
{
    private static readonly Dictionary<string, string> OneAddressForEveryone = new() { ["Pigeon__Limits__AnonymousRequestsPerMinute"] = "100000" };

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ALinkedDevice_ReceivesWhatTheFirstDoes_SeesItsSentMessages_AndStopsWhenRemoved()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Cancellation);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        await cluster.StartSiloAsync(Cancellation);
        var gateway = await cluster.StartGatewayAsync(Cancellation, OneAddressForEveryone);
        using var cli = new CliHarness();
        var (aliceId, _) = await EndToEndTests.InitContactsAsync(cli, gateway);

        // A wrong code is refused before anything changes.
        var wrong = await cli.RunAsync("alice", "devices", "add", "not-a-code");
        Assert.Equal((1, true), (wrong.ExitCode, wrong.Error.Contains("not a link code", StringComparison.Ordinal)));

        var fingerprint = await LinkAsync(cli, gateway, "alice", "alice2");
        Assert.Matches(Fingerprint(), fingerprint);
        var devices = JsonDocument.Parse(await cli.OkAsync("alice", "--json", "devices")).RootElement;
        Assert.Equal([1u, 2u], devices.EnumerateArray().Select(d => d.GetProperty("deviceId").GetUInt32()));
        Assert.Contains(aliceId, await cli.OkAsync("alice2", "whoami"), StringComparison.Ordinal);
        Assert.Contains("Bob", await cli.OkAsync("alice2", "contacts"), StringComparison.Ordinal);

        // Bob's message reaches both of Alice's devices; his client learns of the new one from the server's 409.
        await cli.OkAsync("bob", "send", "Alice", "to both of you");
        Assert.Contains("Bob: to both of you", await cli.OkAsync("alice", "sync", "--wait", "0"), StringComparison.Ordinal);
        Assert.Contains("Bob: to both of you", await cli.OkAsync("alice2", "sync", "--wait", "0"), StringComparison.Ordinal);
        Assert.Contains("added a device", await cli.OkAsync("bob", "history", "Alice"), StringComparison.Ordinal);

        // What Alice sends from her second device reaches Bob and shows as sent on her first.
        await cli.OkAsync("alice2", "send", "Bob", "from my laptop");
        Assert.Contains("Alice: from my laptop", await cli.OkAsync("bob", "sync", "--wait", "0"), StringComparison.Ordinal);
        Assert.Contains("sent from another of your devices", await cli.OkAsync("alice", "sync", "--wait", "0"), StringComparison.Ordinal);
        Assert.Contains("out  Alice: from my laptop", await cli.OkAsync("alice", "history", "Bob"), StringComparison.Ordinal);

        // Removed: Bob's next message goes to device 1 only (his client corrects itself after the 410),
        // and device 2 can no longer sign in.
        var itself = await cli.RunAsync("alice", "devices", "remove", "1");
        Assert.Equal(1, itself.ExitCode);
        await cli.OkAsync("alice", "devices", "remove", "2");
        await cli.OkAsync("bob", "send", "Alice", "only the first");
        Assert.Contains("Bob: only the first", await cli.OkAsync("alice", "sync", "--wait", "0"), StringComparison.Ordinal);
        var removed = await cli.RunAsync("alice2", "sync", "--wait", "0");
        Assert.NotEqual(0, removed.ExitCode);
        Assert.Contains("removed", removed.Error, StringComparison.Ordinal);
        var unknown = await cli.RunAsync("alice", "devices", "remove", "2");
        Assert.Equal(2, unknown.ExitCode);
    }

    [Fact]
    public async Task ALinkCode_WorksOnce()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Cancellation);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        await cluster.StartSiloAsync(Cancellation);
        var gateway = await cluster.StartGatewayAsync(Cancellation, OneAddressForEveryone);
        using var cli = new CliHarness();
        await EndToEndTests.InitContactsAsync(cli, gateway);

        var (code, linking) = await StartLinkAsync(cli, gateway, "alice2");
        await cli.OkAsync("alice", "devices", "add", code);
        Assert.Equal(0, await linking.WaitAsync(TimeSpan.FromSeconds(60), Cancellation));

        // The same code again: the slot is spent, and the list the failed attempt published is taken back.
        var again = await cli.RunAsync("alice", "devices", "add", code);
        Assert.Equal((1, true), (again.ExitCode, again.Error.Contains("expired", StringComparison.Ordinal) || again.Error.Contains("already", StringComparison.Ordinal)));
        var devices = JsonDocument.Parse(await cli.OkAsync("alice", "--json", "devices")).RootElement;
        Assert.Equal([1u, 2u], devices.EnumerateArray().Select(d => d.GetProperty("deviceId").GetUInt32()));
    }

    private static async Task<string> LinkAsync(CliHarness cli, GatewayHandle gateway, string existing, string profile)
    {
        var (code, linking) = await StartLinkAsync(cli, gateway, profile);
        var added = JsonDocument.Parse(await cli.OkAsync(existing, "--json", "devices", "add", code)).RootElement;
        Assert.Equal(0, await linking.WaitAsync(TimeSpan.FromSeconds(60), Cancellation));
        return added.GetProperty("fingerprint").GetString()!;
    }

    private static async Task<(string Code, Task<int> Linking)> StartLinkAsync(CliHarness cli, GatewayHandle gateway, string profile)
    {
        var output = new WatchedOutput();
        var linking = cli.RunAsync(["--profile", profile, "--json", "devices", "link", "--server", gateway.BaseAddress.ToString(), "--no-passphrase"],
            TextReader.Null, output, TextWriter.Null, Cancellation);
        await output.WaitForAsync("\"code\"", TimeSpan.FromSeconds(30), Cancellation);
        var first = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)[0];
        return (JsonDocument.Parse(first).RootElement.GetProperty("code").GetString()!, linking);
    }

    [GeneratedRegex(@"^\d{4} \d{4} \d{4}$")]
    private static partial Regex Fingerprint();
}
