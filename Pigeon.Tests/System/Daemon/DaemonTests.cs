using System.Text.Json;
using Pigeon.Client.Daemon;
using Pigeon.Tests.Client;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.SystemTier.Daemon;

/// <summary><c>pigeon daemon</c> as a real process, driven over its JSON-RPC wire, against a real silo and gateway.</summary>
public sealed class DaemonTests
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private static string Pigeon => BuiltApps.AssemblyOf("Pigeon.Client", "pigeon");

    [Fact]
    public async Task Daemon_OverStdio_CarriesAWholeConversation_WithReceiptsTypingSettingsAndClearErrors()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Cancellation);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        await cluster.StartSiloAsync(Cancellation);
        var gateway = await cluster.StartGatewayAsync(Cancellation);
        using var cli = new CliHarness();
        var (aliceId, bobId) = await EndToEndTests.InitBothAsync(cli, gateway);
        await using var daemon = AppProcess.StartPiped("daemon", Pigeon, new Dictionary<string, string> { ["PIGEON_HOME"] = cli.Home }, "--profile", "bob", "daemon");
        await using var bob = new DaemonClient(daemon.StandardInput, daemon.StandardOutput);

        var version = await bob.CallAsync("version");
        Assert.Equal(DaemonApi.SchemaVersion, version.GetProperty("schema").GetInt32());
        Assert.False(version.GetProperty("manualAck").GetBoolean());
        Assert.Equal(bobId, (await bob.CallAsync("whoami")).GetProperty("accountId").GetString());
        Assert.Equal(0, (await bob.CallAsync("subscribe")).GetProperty("held").GetInt32());

        // A request arrives as a message and a contact change; accepting it over RPC makes a contact.
        await cli.OkAsync("alice", "invite", bobId, "--message", "hi bob");
        var request = await bob.NextAsync("message");
        Assert.Equal("request", request.GetProperty("kind").GetString());
        Assert.Equal("hi bob", request.GetProperty("body").GetString());
        Assert.Equal("requested", (await bob.NextAsync("contact")).GetProperty("change").GetString());
        Assert.Equal("Alice", (await bob.CallAsync("requests"))[0].GetProperty("name").GetString());
        Assert.Equal("accepted", (await bob.CallAsync("accept", new { contact = "Alice" })).GetProperty("state").GetString());
        Assert.Contains("accepted", await cli.OkAsync("alice", "sync", "--wait", "0"), StringComparison.Ordinal);

        // A text, its delivery receipt (sent by the daemon as it stores it), then reading it sends a read receipt.
        await cli.OkAsync("alice", "send", "Bob", "first line\nsecond line");
        var text = await bob.NextAsync("message", m => m.GetProperty("kind").GetString() == "text");
        Assert.Equal("first line\nsecond line", text.GetProperty("body").GetString());
        Assert.Equal(aliceId, text.GetProperty("contactId").GetString());
        Assert.Equal(1, (await bob.CallAsync("contacts"))[0].GetProperty("unread").GetInt32());
        await WaitForAsync(async () => (await AliceHistoryAsync(cli)).Last().State == "delivered");
        var read = await bob.CallAsync("markRead", new { contact = aliceId });
        Assert.Equal(text.GetProperty("messageId").GetGuid(), read.GetProperty("messageIds")[0].GetGuid());
        Assert.True(read.GetProperty("receiptSent").GetBoolean());
        Assert.Equal(0, (await bob.CallAsync("contacts"))[0].GetProperty("unread").GetInt32());
        await WaitForAsync(async () => (await AliceHistoryAsync(cli)).Last().State == "read");
        Assert.Contains("first line\n    second line (read)", await cli.OkAsync("alice", "history", "Bob"), StringComparison.Ordinal);

        // Bob answers over RPC; Alice's client confirms delivery and reading, which come back as receipts.
        var sent = (await bob.CallAsync("send", new { contact = "Alice", text = "hello alice" })).GetProperty("messageId").GetGuid();
        Assert.Contains("Bob: hello alice", await cli.OkAsync("alice", "sync", "--wait", "0"), StringComparison.Ordinal);
        var delivered = await bob.NextAsync("receipt");
        Assert.Equal("delivered", delivered.GetProperty("kind").GetString());
        Assert.Equal(sent, delivered.GetProperty("messageIds")[0].GetGuid());
        var bobHistory = await bob.CallAsync("history", new { contact = "Alice" });
        Assert.Equal("delivered", bobHistory.EnumerateArray().Last().GetProperty("state").GetString());

        // Peer-chosen text is shown safely: a line break cannot forge a line, a bidi override is escaped.
        await bob.CallAsync("send", new { contact = "Alice", text = "x\n[00:00] Alice: forged \u202e" });
        Assert.Contains("Bob: x\n    [00:00] Alice: forged \\u202e", await cli.OkAsync("alice", "sync", "--wait", "0"), StringComparison.Ordinal);
        Assert.Contains("x\n    [00:00] Alice: forged \\u202e", await cli.OkAsync("alice", "history", "Bob"), StringComparison.Ordinal);
        await cli.OkAsync("alice", "send", "Bob", "flip \u202e here");
        Assert.Equal("flip \\u202e here", (await bob.NextAsync("message", m => m.GetProperty("body").GetString()!.StartsWith("flip", StringComparison.Ordinal))).GetProperty("body").GetString());

        // Typing reaches Alice; with typing and read receipts off, none is sent.
        Assert.True((await bob.CallAsync("typing", new { contact = "Alice", typing = true })).GetProperty("sent").GetBoolean());
        Assert.Contains("Bob is typing", await cli.OkAsync("alice", "sync", "--wait", "0"), StringComparison.Ordinal);
        var settings = await bob.CallAsync("settings", new { readReceipts = false, typing = false });
        Assert.False(settings.GetProperty("readReceipts").GetBoolean());
        Assert.Contains("Typing:         off", await cli.OkAsync("bob", "settings"), StringComparison.Ordinal);
        Assert.False((await bob.CallAsync("typing", new { contact = "Alice", typing = true })).GetProperty("sent").GetBoolean());
        await cli.OkAsync("alice", "send", "Bob", "unread receipt");
        await bob.NextAsync("message", m => m.GetProperty("body").GetString() == "unread receipt");
        Assert.False((await bob.CallAsync("markRead", new { contact = "Alice" })).GetProperty("receiptSent").GetBoolean());
        await WaitForAsync(async () => (await AliceHistoryAsync(cli)).Last().State == "delivered");
        Assert.DoesNotContain("typing", await cli.OkAsync("alice", "sync", "--wait", "1"), StringComparison.Ordinal);
        Assert.Equal("delivered", (await AliceHistoryAsync(cli)).Last().State);

        // Both sides compute the same safety number; confirming marks Alice verified.
        var verify = await bob.CallAsync("verify", new { contact = "Alice", confirm = true });
        Assert.True(verify.GetProperty("verified").GetBoolean());
        Assert.Equal(JsonDocument.Parse(await cli.OkAsync("alice", "--json", "verify", "Bob")).RootElement.GetProperty("safetyNumber").GetString(),
            verify.GetProperty("safetyNumber").GetString());

        // Bad input gets a JSON-RPC error with a clear code and message, and changes nothing.
        var unknown = await Assert.ThrowsAsync<DaemonError>(() => bob.CallAsync("send", new { contact = "Nobody", text = "x" }));
        Assert.Equal(2, unknown.Code);
        Assert.Contains("Nobody", unknown.Message, StringComparison.Ordinal);
        Assert.Equal(DaemonApi.InvalidParams, (await Assert.ThrowsAsync<DaemonError>(() => bob.CallAsync("send", new { contact = "Alice", text = " " }))).Code);
        Assert.Equal(DaemonApi.InvalidParams, (await Assert.ThrowsAsync<DaemonError>(() => bob.CallAsync("ack", new { messageIds = new[] { "not-an-id" } }))).Code);
        Assert.Equal(DaemonApi.InvalidParams, (await Assert.ThrowsAsync<DaemonError>(() => bob.CallAsync("history", new { contact = "Alice", limit = 0 }))).Code);
        Assert.Equal(-32601, (await Assert.ThrowsAsync<DaemonError>(() => bob.CallAsync("selfDestruct"))).Code);
        Assert.Equal(7, (await bob.CallAsync("history", new { contact = "Alice" })).GetArrayLength());

        // Block, unblock and remove, with the contact changes notified.
        using var stranger = global::Pigeon.Protocol.Identity.IdentityKeyPair.Generate();
        Assert.Equal(stranger.AccountId, (await bob.CallAsync("block", new { contact = stranger.AccountId })).GetProperty("accountId").GetString());
        Assert.Equal("blocked", (await bob.NextAsync("contact", c => c.GetProperty("contactId").GetString() == stranger.AccountId)).GetProperty("change").GetString());
        Assert.Equal(stranger.AccountId, (await bob.CallAsync("blocked"))[0].GetProperty("accountId").GetString());
        await bob.CallAsync("unblock", new { accountId = stranger.AccountId });
        Assert.Equal(2, (await Assert.ThrowsAsync<DaemonError>(() => bob.CallAsync("unblock", new { accountId = stranger.AccountId }))).Code);
        Assert.Equal(0, (await bob.CallAsync("blocked")).GetArrayLength());
        Assert.Equal("Alice", (await bob.CallAsync("remove", new { contact = "Alice" })).GetProperty("name").GetString());
        Assert.Equal("removed", (await bob.NextAsync("contact", c => c.GetProperty("contactId").GetString() == aliceId)).GetProperty("change").GetString());
        Assert.Equal(0, (await bob.CallAsync("contacts")).GetArrayLength());

        // One daemon per profile.
        var (exitCode, output) = await AppProcess.RunAsync(Pigeon, new Dictionary<string, string> { ["PIGEON_HOME"] = cli.Home }, TimeSpan.FromSeconds(60),
            "--profile", "bob", "daemon", "--socket");
        Assert.Equal(1, exitCode);
        Assert.Contains("Another pigeon daemon is running for this profile", output, StringComparison.Ordinal);

        // End of stdin ends the daemon cleanly; nothing it received stays on the server.
        daemon.StandardInput.Close();
        await daemon.StopAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(0, daemon.ExitCode);
        Assert.Equal(0L, await EndToEndTests.MailboxCountAsync(database, bobId));
    }

    [Fact]
    public async Task Daemon_TakesAGroupWhereverItTakesAContact_AndNotifiesGroupTextsWithTheirGroup()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Cancellation);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        await cluster.StartSiloAsync(Cancellation);
        var gateway = await cluster.StartGatewayAsync(Cancellation);
        using var cli = new CliHarness();
        var (_, bobId, carolId) = await EndToEndTests.InitAliceWithTwoContactsAsync(cli, gateway);
        await using var daemon = AppProcess.StartPiped("daemon", Pigeon, new Dictionary<string, string> { ["PIGEON_HOME"] = cli.Home }, "--profile", "bob", "daemon");
        await using var bob = new DaemonClient(daemon.StandardInput, daemon.StandardOutput);
        await bob.CallAsync("subscribe");

        await cli.OkAsync("alice", "group", "create", "Trip", "Bob", "Carol");
        var created = await bob.NextAsync("message", m => m.GetProperty("kind").GetString() == "groupupdate");
        var groupId = created.GetProperty("groupId").GetString()!;
        var groups = await bob.CallAsync("groups");
        Assert.Equal((1, "Trip", groupId, true), (groups.GetArrayLength(), groups[0].GetProperty("title").GetString(), groups[0].GetProperty("id").GetString(),
            groups[0].GetProperty("member").GetBoolean()));
        Assert.Equal(3, groups[0].GetProperty("members").GetArrayLength());

        await cli.OkAsync("carol", "sync", "--wait", "0");
        await cli.OkAsync("carol", "send", "Trip", "carol to the group");
        var text = await bob.NextAsync("message", m => m.GetProperty("kind").GetString() == "text");
        Assert.Equal((groupId, "Trip", carolId, "carol to the group"), (text.GetProperty("groupId").GetString(), text.GetProperty("groupTitle").GetString(),
            text.GetProperty("contactId").GetString(), text.GetProperty("body").GetString()));

        // send and history take the group by title or id prefix; history names each author.
        await bob.CallAsync("send", new { contact = groupId[..8], text = "bob to the group" });
        Assert.Contains("Bob in Trip: bob to the group", await cli.OkAsync("alice", "sync", "--wait", "0"), StringComparison.Ordinal);
        Assert.Contains("Bob in Trip: bob to the group", await cli.OkAsync("carol", "sync", "--wait", "0"), StringComparison.Ordinal);
        var history = (await bob.CallAsync("history", new { contact = "trip" })).EnumerateArray().ToList();
        Assert.Equal(carolId, history.Single(h => h.GetProperty("body").GetString() == "carol to the group").GetProperty("author").GetString());
        Assert.Equal(bobId, history.Single(h => h.GetProperty("body").GetString() == "bob to the group").GetProperty("author").GetString());

        // A name that is no contact and no group is a clear error; nothing was sent.
        var unknown = await Assert.ThrowsAsync<DaemonError>(() => bob.CallAsync("send", new { contact = "Holiday", text = "x" }));
        Assert.Equal((2, true), (unknown.Code, unknown.Message.Contains("No contact or group", StringComparison.Ordinal)));
        daemon.StandardInput.Close();
        await daemon.StopAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(0, daemon.ExitCode);
    }

    [Fact]
    public async Task Daemon_SendsListsAndSavesFiles_AndNotifiesTheFileAMessageCarries()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Cancellation);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        await cluster.StartSiloAsync(Cancellation);
        var gateway = await cluster.StartGatewayAsync(Cancellation);
        using var cli = new CliHarness();
        var (aliceId, bobId) = await EndToEndTests.InitContactsAsync(cli, gateway);
        var folder = Directory.CreateTempSubdirectory("pigeon-daemon-files-").FullName;
        try
        {
            var photo = Path.Combine(folder, "photo.png");
            await File.WriteAllBytesAsync(photo, System.Security.Cryptography.RandomNumberGenerator.GetBytes(300_000), Cancellation);
            await using var daemon = AppProcess.StartPiped("daemon", Pigeon, new Dictionary<string, string> { ["PIGEON_HOME"] = cli.Home }, "--profile", "bob", "daemon");
            await using var bob = new DaemonClient(daemon.StandardInput, daemon.StandardOutput);
            await bob.CallAsync("subscribe");

            await cli.OkAsync("alice", "send", "Bob", "--file", photo, "from the trip");
            var text = await bob.NextAsync("message", m => m.GetProperty("kind").GetString() == "text");
            var file = text.GetProperty("file");
            var id = file.GetProperty("id").GetGuid();
            // Under the auto-download size (10 MiB by default): fetched, still encrypted, right after the message.
            JsonElement listed = default;
            for (var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30); DateTime.UtcNow < deadline; await Task.Delay(100, Cancellation))
            {
                listed = (await bob.CallAsync("attachments"))[0];
                if (listed.GetProperty("state").GetString() == "downloaded")
                {
                    break;
                }
            }

            var saved = await bob.CallAsync("save", new { id = id.ToString("N")[..8], path = folder + "/saved.png" });
            var exists = await Assert.ThrowsAsync<DaemonError>(() => bob.CallAsync("save", new { id = id.ToString("N")[..8], path = folder + "/saved.png" }));
            var forced = await bob.CallAsync("save", new { id = id.ToString("N")[..8], path = folder + "/saved.png", force = true });
            var unknown = await Assert.ThrowsAsync<DaemonError>(() => bob.CallAsync("save", new { id = "ffffffffff" }));
            await bob.CallAsync("sendFile", new { contact = "alice", path = photo, caption = "right back" });
            var missing = await Assert.ThrowsAsync<DaemonError>(() => bob.CallAsync("sendFile", new { contact = "alice", path = folder + "/nothing.png" }));
            var alices = await cli.OkAsync("alice", "sync", "--wait", "0");

            Assert.Equal(("from the trip", aliceId, "photo.png", "image/png", 300_000L), (text.GetProperty("body").GetString(), text.GetProperty("contactId").GetString(),
                file.GetProperty("name").GetString(), file.GetProperty("contentType").GetString(), file.GetProperty("size").GetInt64()));
            Assert.Equal(("downloaded", "in", aliceId), (listed.GetProperty("state").GetString(), listed.GetProperty("direction").GetString(),
                listed.GetProperty("sender").GetString()));
            Assert.Equal(folder + "/saved.png", saved.GetProperty("path").GetString());
            Assert.Equal(await File.ReadAllBytesAsync(photo, Cancellation), await File.ReadAllBytesAsync(folder + "/saved.png", Cancellation));
            Assert.Equal((1, true), (exists.Code, exists.Message.Contains("--force", StringComparison.Ordinal)));
            Assert.Equal(folder + "/saved.png", forced.GetProperty("path").GetString());
            Assert.Equal((2, true), (unknown.Code, unknown.Message.Contains("No attachment", StringComparison.Ordinal)));
            Assert.Equal((1, true), (missing.Code, missing.Message.Contains("There is no file", StringComparison.Ordinal)));
            Assert.Contains("Bob: [file photo.png, 293.0 KiB: 'pigeon save ", alices, StringComparison.Ordinal);
            Assert.Contains("right back", alices, StringComparison.Ordinal);
            daemon.StandardInput.Close();
            await daemon.StopAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(0, daemon.ExitCode);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task ManualAck_KeepsAMessageUntilTheIntegrationAcknowledgesIt_AcrossAnIntegrationCrashAndADaemonKill()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Cancellation);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        await cluster.StartSiloAsync(Cancellation);
        var gateway = await cluster.StartGatewayAsync(Cancellation);
        using var cli = new CliHarness();
        var (_, bobId) = await EndToEndTests.InitContactsAsync(cli, gateway);
        var socket = Path.Combine(cli.ProfileDirectory("bob"), DaemonCommand.SocketFileName);
        var environment = new Dictionary<string, string> { ["PIGEON_HOME"] = cli.Home };

        var daemon = await StartSocketDaemonAsync(environment, socket);
        try
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, OperatingSystem.IsWindows() ? UnixFileMode.None : File.GetUnixFileMode(socket));
            await using (var first = await DaemonClient.ConnectAsync(socket, Cancellation))
            {
                Assert.True((await first.CallAsync("subscribe")).GetProperty("manualAck").GetBoolean());
                await cli.OkAsync("alice", "send", "Bob", "one");
                Assert.Equal("one", (await first.NextAsync("message")).GetProperty("body").GetString());
                // The integration crashes before acknowledging.
            }

            Guid two;
            await using (var second = await DaemonClient.ConnectAsync(socket, Cancellation))
            {
                Assert.Equal(1, (await second.CallAsync("subscribe")).GetProperty("held").GetInt32());
                Assert.Equal("one", (await second.NextAsync("message")).GetProperty("body").GetString());
                await cli.OkAsync("alice", "send", "Bob", "two");
                two = (await second.NextAsync("message", m => m.GetProperty("body").GetString() == "two")).GetProperty("messageId").GetGuid();
                var ack = await second.CallAsync("ack", new { messageIds = new[] { two } });
                Assert.Equal(1, ack.GetProperty("acknowledged").GetInt32());
            }

            // The server is acknowledged after each local commit (by the next poll): the daemon dies, nothing is lost.
            await WaitForAsync(async () => await EndToEndTests.MailboxCountAsync(database, bobId) == 0);
            await daemon.KillAsync();
            await daemon.DisposeAsync();
            daemon = await StartSocketDaemonAsync(environment, socket);
            await using var third = await DaemonClient.ConnectAsync(socket, Cancellation);
            Assert.Equal(1, (await third.CallAsync("subscribe")).GetProperty("held").GetInt32());
            var one = await third.NextAsync("message");
            Assert.Equal("one", one.GetProperty("body").GetString());
            Assert.Equal(1, (await third.CallAsync("ack", new { messageIds = new[] { one.GetProperty("messageId").GetGuid() } })).GetProperty("acknowledged").GetInt32());
            var again = await third.CallAsync("ack", new { messageIds = new[] { two } });
            Assert.Equal(0, again.GetProperty("acknowledged").GetInt32());
            Assert.Equal(two, again.GetProperty("unknown")[0].GetGuid());
            await using var fourth = await DaemonClient.ConnectAsync(socket, Cancellation);
            Assert.Equal(0, (await fourth.CallAsync("subscribe")).GetProperty("held").GetInt32());

            await daemon.StopAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(0, daemon.ExitCode);
            Assert.False(File.Exists(socket));
        }
        finally
        {
            await daemon.DisposeAsync();
        }
    }

    private static async Task<AppProcess> StartSocketDaemonAsync(Dictionary<string, string> environment, string socket)
    {
        var daemon = AppProcess.Start("daemon", Pigeon, environment, "--profile", "bob", "daemon", "--socket", "--manual-ack");
        await WaitForAsync(() => Task.FromResult(daemon.Output.Contains("listening on", StringComparison.Ordinal) || daemon.HasExited));
        Assert.False(daemon.HasExited, daemon.Output);
        Assert.True(File.Exists(socket));
        return daemon;
    }

    private sealed record Item(string State, string? Body);

    // Alice's client receives what is waiting (receipts), then shows her history with Bob.
    private static async Task<List<Item>> AliceHistoryAsync(CliHarness cli)
    {
        await cli.OkAsync("alice", "sync", "--wait", "0");
        return [.. JsonDocument.Parse(await cli.OkAsync("alice", "--json", "history", "Bob")).RootElement.EnumerateArray()
            .Select(e => new Item(e.GetProperty("state").GetString()!, e.TryGetProperty("body", out var body) ? body.GetString() : null))];
    }

    // Polls a condition that another process makes true (a receipt on its way), for at most 60 s.
    private static async Task WaitForAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "The condition did not hold within 60 s.");
            await Task.Delay(200, Cancellation);
        }
    }
}
