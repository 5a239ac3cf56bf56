using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Pigeon.Protocol.Devices;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Client;

/// <summary>
/// Several devices per account over real processes (issue 16): Alice links a second device with a code
/// through the provisioning slot; what Bob sends reaches both, what one of Alice's devices sends shows
/// as sent on the other, and a removed device receives nothing more and cannot sign in. A code works
/// once and only until its slot expires; an add that fails (the code spent or expired, the slot out of
/// reach) leaves no device on the list and no profile; and what travels through the slot (the account,
/// its contacts) is never readable on the wire, in PostgreSQL or in the server's logs.
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
        Assert.Contains("sent from another of your devices to Bob: from my laptop", await cli.OkAsync("alice", "sync", "--wait", "0"), StringComparison.Ordinal);
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

    [Fact]
    public async Task ALostAnswerToTheSlotUpload_IsSentAgain_AndTheLinkStillCompletes()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Cancellation);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        await cluster.StartSiloAsync(Cancellation);
        var gateway = await cluster.StartGatewayAsync(Cancellation, OneAddressForEveryone);
        using var cli = new CliHarness();
        await EndToEndTests.InitContactsAsync(cli, gateway);
        var uploads = 0;
        cli.LoseResponse = request => request.Method == HttpMethod.Put && request.RequestUri!.AbsolutePath.StartsWith("/v1/provisioning/", StringComparison.Ordinal)
            && Interlocked.Increment(ref uploads) == 1;

        await LinkAsync(cli, gateway, "alice", "alice2");
        cli.LoseResponse = _ => false;

        // The upload went twice (the new device may have taken the first already): one device, linked.
        Assert.True(uploads >= 2, $"{uploads} uploads");
        var devices = JsonDocument.Parse(await cli.OkAsync("alice", "--json", "devices")).RootElement;
        Assert.Equal([1u, 2u], devices.EnumerateArray().Select(d => d.GetProperty("deviceId").GetUInt32()));
        await cli.OkAsync("bob", "send", "Alice", "to the new one");
        Assert.Contains("Bob: to the new one", await cli.OkAsync("alice2", "sync", "--wait", "0"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnExpiredLinkCode_IsRefusedOnBothDevices_AndLeavesNoDeviceAndNoProfile()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Cancellation);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        await cluster.StartSiloAsync(Cancellation);
        var gateway = await cluster.StartGatewayAsync(Cancellation,
            new Dictionary<string, string>(OneAddressForEveryone) { ["Pigeon__Provisioning__SlotLifetime"] = "00:00:03" });
        using var cli = new CliHarness();
        await EndToEndTests.InitContactsAsync(cli, gateway);

        // The new device waits on its slot until the slot expires; only then does the code reach Alice.
        using var linkError = new StringWriter();
        var (code, linking) = await StartLinkAsync(cli, gateway, "alice2", linkError);
        var linkExit = await linking.WaitAsync(TimeSpan.FromSeconds(60), Cancellation);
        var add = await cli.RunAsync("alice", "devices", "add", code);
        var devices = JsonDocument.Parse(await cli.OkAsync("alice", "--json", "devices")).RootElement;
        var whoami = await cli.RunAsync("alice2", "whoami");

        Assert.Equal(1, linkExit);
        var linkFailure = JsonDocument.Parse(linkError.ToString()).RootElement;
        Assert.Equal("The link code expired before an existing device used it. Run 'pigeon devices link' again.", linkFailure.GetProperty("error").GetString());
        Assert.Equal(1, linkFailure.GetProperty("exitCode").GetInt32());
        Assert.False(Directory.Exists(cli.ProfileDirectory("alice2")), "the failed link left a profile folder behind");
        Assert.Equal(2, whoami.ExitCode);
        Assert.True(add.ExitCode == 1, add.ToString());
        Assert.Contains("This link code has expired or is unknown to the server. Run 'pigeon devices link' again on the new device for a new one.",
            add.Error, StringComparison.Ordinal);
        // The list the refused attempt published was taken back on the server too: Bob's next
        // deposit, to device 1 alone, is taken as it is, and he sees no device added.
        Assert.Equal([1u], devices.EnumerateArray().Select(d => d.GetProperty("deviceId").GetUInt32()));
        await cli.OkAsync("bob", "send", "Alice", "still one device");
        Assert.Contains("Bob: still one device", await cli.OkAsync("alice", "sync", "--wait", "0"), StringComparison.Ordinal);
        Assert.DoesNotContain("added a device", await cli.OkAsync("bob", "history", "Alice"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnAddWhoseAccountNeverReachesTheSlot_IsTakenBack_AndTheSameCodeWorksOnceTheServerAnswers()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Cancellation);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        await cluster.StartSiloAsync(Cancellation);
        var gateway = await cluster.StartGatewayAsync(Cancellation, OneAddressForEveryone);
        using var cli = new CliHarness();
        await EndToEndTests.InitContactsAsync(cli, gateway);

        // The list with the new device is published; then every try to put the account in the slot is dropped.
        var (code, linking) = await StartLinkAsync(cli, gateway, "alice2");
        cli.FailRequest = request => request.Method == HttpMethod.Put && request.RequestUri!.AbsolutePath.StartsWith("/v1/provisioning/", StringComparison.Ordinal);
        var dropped = await cli.RunAsync("alice", "devices", "add", code);
        cli.FailRequest = _ => false;
        var afterDrop = JsonDocument.Parse(await cli.OkAsync("alice", "--json", "devices")).RootElement;
        var bobsSend = await cli.RunAsync("bob", "send", "Alice", "while the link failed");
        var again = await cli.RunAsync("alice", "--json", "devices", "add", code);
        var linkExit = await linking.WaitAsync(TimeSpan.FromSeconds(60), Cancellation);
        var devices = JsonDocument.Parse(await cli.OkAsync("alice", "--json", "devices")).RootElement;

        Assert.True(dropped.ExitCode == 3, dropped.ToString());
        // A device on the list that never got the account would publish no keys, and Bob's messages would wait on them.
        Assert.Equal([1u], afterDrop.EnumerateArray().Select(d => d.GetProperty("deviceId").GetUInt32()));
        Assert.True(bobsSend.ExitCode == 0, bobsSend.ToString());
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Equal(0, linkExit);
        // Device 2's id was given out once already; ids are never reused.
        Assert.Equal(3u, JsonDocument.Parse(again.Output).RootElement.GetProperty("deviceId").GetUInt32());
        Assert.Equal([1u, 3u], devices.EnumerateArray().Select(d => d.GetProperty("deviceId").GetUInt32()));
        Assert.Contains("Bob", await cli.OkAsync("alice2", "contacts"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ADeviceThatNeverSawAnIdGivenOutAndTakenBack_LinksUnderAFreshId()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Cancellation);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        await cluster.StartSiloAsync(Cancellation);
        var gateway = await cluster.StartGatewayAsync(Cancellation, OneAddressForEveryone);
        using var cli = new CliHarness();
        await EndToEndTests.InitContactsAsync(cli, gateway);

        // Device 3 comes and goes on alice2; alice, device 1, only ever accepts lists of devices 1 and 2.
        await LinkAsync(cli, gateway, "alice", "alice2");
        await LinkAsync(cli, gateway, "alice2", "alice3");
        await cli.OkAsync("alice2", "devices", "remove", "3");
        var (code, linking) = await StartLinkAsync(cli, gateway, "alice4");
        var added = await cli.RunAsync("alice", "--json", "devices", "add", code);
        Assert.True(added.ExitCode == 0, added.ToString());
        Assert.Equal(0, await linking.WaitAsync(TimeSpan.FromSeconds(60), Cancellation));
        var deviceId = JsonDocument.Parse(added.Output).RootElement.GetProperty("deviceId").GetUInt32();
        var devices = JsonDocument.Parse(await cli.OkAsync("alice", "--json", "devices")).RootElement;

        Assert.True(deviceId > 3, $"device {deviceId} reuses an id");
        Assert.Equal([1u, 2u, deviceId], devices.EnumerateArray().Select(d => d.GetProperty("deviceId").GetUInt32()));
        await cli.OkAsync("bob", "send", "Alice", "to the fourth");
        Assert.Contains("Bob: to the fourth", await cli.OkAsync("alice4", "sync", "--wait", "0"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WhatALinkedDeviceReceives_IsNeverReadableOnTheWireInPostgresOrInTheLogs_YetArrives()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Cancellation);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        var silo = await cluster.StartSiloAsync(Cancellation);
        var gateway = await cluster.StartGatewayAsync(Cancellation, OneAddressForEveryone);
        await using var wire = new WireRecorder(gateway.BaseAddress);
        var relayed = new GatewayHandle(gateway.Process, wire.Address);
        using var cli = new CliHarness();
        // Alice's own name and her contact's name both travel in the provisioning payload.
        var marker = $"okapi{Guid.NewGuid():N}";
        var server = wire.Address.ToString();
        var aliceId = JsonDocument.Parse(await cli.OkAsync("alice", "--json", "init", "--server", server, "--name", $"Alice {marker}", "--no-passphrase"))
            .RootElement.GetProperty("accountId").GetString()!;
        var bobId = JsonDocument.Parse(await cli.OkAsync("bob", "--json", "init", "--server", server, "--name", $"Bob {marker}", "--no-passphrase"))
            .RootElement.GetProperty("accountId").GetString()!;
        await cli.OkAsync("alice", "invite", bobId);
        await cli.OkAsync("bob", "sync", "--wait", "0");
        await cli.OkAsync("bob", "accept", aliceId);
        await cli.OkAsync("alice", "sync", "--wait", "0");

        var (code, linking) = await StartLinkAsync(cli, relayed, "alice2");
        await cli.OkAsync("alice", "devices", "add", code);
        Assert.Equal(0, await linking.WaitAsync(TimeSpan.FromSeconds(60), Cancellation));
        var whoami = JsonDocument.Parse(await cli.OkAsync("alice2", "--json", "whoami")).RootElement;
        var contacts = JsonDocument.Parse(await cli.OkAsync("alice2", "--json", "contacts")).RootElement;
        var everything = await EndToEndTests.DumpAsync(database.DataSource);

        // It arrived, before any message could have brought it: the names came through the slot.
        Assert.Equal($"Alice {marker}", whoami.GetProperty("name").GetString());
        Assert.Equal([$"Bob {marker}"], contacts.EnumerateArray().Select(c => c.GetProperty("name").GetString()));
        // The slot was reached through the recorder, and the needles find a marker wherever base64 puts it.
        Assert.True(wire.Contains(Encoding.ASCII.GetBytes($"/v1/provisioning/{LinkCode.Parse(code).SlotId:D}")), "the link did not go through the recorder");
        foreach (var prefix in new[] { "", "{", "{\"" })
        {
            var encoded = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{prefix}\"name\":\"Bob {marker}\""));
            Assert.Contains(Needles(marker), needle => encoded.Contains(needle, StringComparison.Ordinal));
        }

        foreach (var needle in Needles(marker))
        {
            Assert.False(wire.Contains(Encoding.ASCII.GetBytes(needle)), $"'{needle}' went over the wire");
            Assert.DoesNotContain(needle, everything, StringComparison.Ordinal);
            Assert.DoesNotContain(needle, silo.Process.Output, StringComparison.Ordinal);
            Assert.DoesNotContain(needle, gateway.Process.Output, StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// How <paramref name="marker"/> would look in a capture if it were sent readable: as it is, as hex
    /// (PostgreSQL's bytea), and as base64 (JSON's bytes) at each of the three alignments, in both
    /// alphabets; a base64 needle leaves out the characters that depend on the bytes around it.
    /// </summary>
    private static List<string> Needles(string marker)
    {
        var bytes = Encoding.UTF8.GetBytes(marker);
        var needles = new List<string> { marker, Convert.ToHexStringLower(bytes) };
        for (var shift = 0; shift < 3; shift++)
        {
            var encoded = Convert.ToBase64String([.. new byte[shift], .. bytes]);
            var middle = encoded[(shift == 0 ? 0 : 4)..^4];
            needles.Add(middle);
            needles.Add(middle.Replace('+', '-').Replace('/', '_'));
        }

        return [.. needles.Distinct()];
    }

    internal static async Task<string> LinkAsync(CliHarness cli, GatewayHandle gateway, string existing, string profile)
    {
        var (code, linking) = await StartLinkAsync(cli, gateway, profile);
        var added = JsonDocument.Parse(await cli.OkAsync(existing, "--json", "devices", "add", code)).RootElement;
        Assert.Equal(0, await linking.WaitAsync(TimeSpan.FromSeconds(60), Cancellation));
        return added.GetProperty("fingerprint").GetString()!;
    }

    /// <summary>Starts <c>devices link</c> for <paramref name="profile"/> and returns the code it shows, and its run (its exit code); its stderr goes to <paramref name="error"/>.</summary>
    internal static async Task<(string Code, Task<int> Linking)> StartLinkAsync(CliHarness cli, GatewayHandle gateway, string profile, TextWriter? error = null)
    {
        var output = new WatchedOutput();
        var linking = cli.RunAsync(["--profile", profile, "--json", "devices", "link", "--server", gateway.BaseAddress.ToString(), "--no-passphrase"],
            TextReader.Null, output, error ?? TextWriter.Null, Cancellation);
        await output.WaitForAsync("\"code\"", TimeSpan.FromSeconds(30), Cancellation);
        var first = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)[0];
        return (JsonDocument.Parse(first).RootElement.GetProperty("code").GetString()!, linking);
    }

    [GeneratedRegex(@"^\d{4} \d{4} \d{4}$")]
    private static partial Regex Fingerprint();
}
