using System.Text;
using System.Text.Json;
using Pigeon.Grains.Abstractions.Mailboxes;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Client;

/// <summary>
/// Two people on one machine (two profiles) talking through a real silo and gateway on a real
/// PostgreSQL, with the commands run in this process as the <c>pigeon</c> executable would run them.
/// </summary>
public sealed class EndToEndTests
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TwoProfiles_InviteAcceptAndTalk_WithoutThePlaintextEverLeavingTheClients()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Cancellation);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        var silo = await cluster.StartSiloAsync(Cancellation);
        var gateway = await cluster.StartGatewayAsync(Cancellation);
        using var cli = new CliHarness();
        cli.SetEnvironment("PIGEON_PASSPHRASE", "a long passphrase");
        var marker = $"zebra{Guid.NewGuid():N}";

        var (aliceId, bobId) = await InitBothAsync(cli, gateway, encrypted: true);
        await cli.OkAsync("alice", "invite", bobId, "--message", $"hi, it is Alice {marker}");

        var bobSync = await cli.OkAsync("bob", "sync", "--wait", "0");
        Assert.Contains($"Contact request from Alice ({aliceId}): hi, it is Alice {marker}", bobSync, StringComparison.Ordinal);
        Assert.Contains(aliceId, await cli.OkAsync("bob", "requests"), StringComparison.Ordinal);
        await cli.OkAsync("bob", "accept", aliceId);
        Assert.Contains("No pending requests", await cli.OkAsync("bob", "requests"), StringComparison.Ordinal);

        Assert.Contains($"Bob ({bobId}) accepted", await cli.OkAsync("alice", "sync", "--wait", "0"), StringComparison.Ordinal);
        await cli.OkAsync("alice", "send", "Bob", $"first from alice {marker}");
        Assert.Contains($"Alice: first from alice {marker}", await cli.OkAsync("bob", "sync", "--wait", "0"), StringComparison.Ordinal);

        // Alice is offline (not syncing) while Bob writes twice.
        await cli.OkAsync("bob", "send", "alice", $"second from bob {marker}");
        await cli.OkAsync("bob", "send", aliceId, $"third from bob {marker}");
        // Bob's two texts, and his delivery receipt for Alice's first.
        Assert.Equal(3L, await MailboxCountAsync(database, aliceId));
        var aliceSync = await cli.OkAsync("alice", "sync", "--wait", "0");
        Assert.True(
            aliceSync.IndexOf($"second from bob {marker}", StringComparison.Ordinal) < aliceSync.IndexOf($"third from bob {marker}", StringComparison.Ordinal),
            aliceSync);

        var aliceHistory = await HistoryAsync(cli, "alice", "Bob");
        var bobHistory = await HistoryAsync(cli, "bob", "Alice");
        Assert.Equal(["out request", "in accepted", "out text", "in text", "in text"], aliceHistory.Select(h => $"{h.Direction} {h.Kind}"));
        Assert.Equal(["in request", "out accepted", "in text", "out text", "out text"], bobHistory.Select(h => $"{h.Direction} {h.Kind}"));
        Assert.Equal(
            [$"hi, it is Alice {marker}", null, $"first from alice {marker}", $"second from bob {marker}", $"third from bob {marker}"],
            aliceHistory.Select(h => h.Body));
        Assert.Equal(aliceHistory.Select(h => h.Body), bobHistory.Select(h => h.Body));
        Assert.All(aliceHistory.Concat(bobHistory), h => Assert.NotEqual("queued", h.Status));

        var contacts = JsonDocument.Parse(await cli.OkAsync("alice", "--json", "contacts")).RootElement;
        Assert.Equal("Bob", contacts[0].GetProperty("name").GetString());
        Assert.Equal("accepted", contacts[0].GetProperty("state").GetString());

        // Both sides see the same safety number; confirming marks the contact verified.
        var aliceNumber = JsonDocument.Parse(await cli.OkAsync("alice", "--json", "verify", "Bob")).RootElement.GetProperty("safetyNumber").GetString();
        var bobNumber = JsonDocument.Parse(await cli.OkAsync("bob", "--json", "verify", "Alice", "--confirm")).RootElement.GetProperty("safetyNumber").GetString();
        Assert.Matches("^[0-9]{60}$", aliceNumber);
        Assert.Equal(aliceNumber, bobNumber);
        Assert.Contains("yes", await cli.OkAsync("bob", "contacts"), StringComparison.Ordinal);

        Assert.Equal(0L, await MailboxCountAsync(database, aliceId));
        var everything = await DumpAsync(database);
        Assert.Contains(aliceId, everything, StringComparison.Ordinal);
        Assert.DoesNotContain(marker, everything, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToHexStringLower(Encoding.UTF8.GetBytes(marker)), everything, StringComparison.Ordinal);
        Assert.DoesNotContain(marker, silo.Process.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(marker, gateway.Process.Output, StringComparison.Ordinal);
        Assert.Contains(cli.HttpBodies, b => b.StartsWith("POST", StringComparison.Ordinal) && b.Contains("/v1/messages", StringComparison.Ordinal));
        Assert.All(cli.HttpBodies, b => Assert.DoesNotContain(marker, b, StringComparison.Ordinal));
        Assert.All(cli.HttpBodies, b => Assert.DoesNotContain("a long passphrase", b, StringComparison.Ordinal));
    }

    [Fact]
    public async Task RestartedClient_ContinuesTheSession_ChatWorks_AndAServerThatIsDownChangesNothing()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Cancellation);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        await cluster.StartSiloAsync(Cancellation);
        var gateway = await cluster.StartGatewayAsync(Cancellation);
        string aliceId;
        var home = Path.Combine(Path.GetTempPath(), $"pigeon-cli-{Guid.NewGuid():N}");
        using (var first = new CliHarness(home))
        {
            (aliceId, var bobId) = await InitBothAsync(first, gateway);
            await first.OkAsync("alice", "invite", bobId);
            await first.OkAsync("bob", "sync", "--wait", "0");
            await first.OkAsync("bob", "accept", "Alice");
            await first.OkAsync("alice", "sync", "--wait", "0");
            await first.OkAsync("alice", "send", "Bob", "before the restart");
        }
        try
        {
            // A new harness over the same home: nothing in memory survives, as with a new process.
            using var restarted = new CliHarness(home);
            Assert.Contains("Alice: before the restart", await restarted.OkAsync("bob", "sync", "--wait", "0"), StringComparison.Ordinal);
            var chat = await restarted.RunAsync(["--profile", "bob", "chat", "Alice", "--poll", "1"], "after the restart\n\nand again\n", Cancellation);
            Assert.True(chat.ExitCode == 0, chat.ToString());
            Assert.Contains("Left the chat.", chat.Output, StringComparison.Ordinal);
            var received = await restarted.OkAsync("alice", "sync", "--wait", "0");
            Assert.Contains("Bob: after the restart", received, StringComparison.Ordinal);
            Assert.Contains("Bob: and again", received, StringComparison.Ordinal);

            // A lost acknowledgement: the messages are stored, then redelivered, recognised and acked again.
            await restarted.OkAsync("bob", "send", "Alice", "acked twice");
            restarted.FailRequest = request => request.RequestUri!.AbsolutePath.EndsWith("/ack", StringComparison.Ordinal);
            var lostAck = await restarted.RunAsync("alice", "sync", "--wait", "0");
            Assert.Equal(3, lostAck.ExitCode);
            restarted.FailRequest = _ => false;
            Assert.Equal(1L, await MailboxCountAsync(database, aliceId));
            Assert.Contains("No new messages", await restarted.OkAsync("alice", "sync", "--wait", "0"), StringComparison.Ordinal);
            Assert.Equal(0L, await MailboxCountAsync(database, aliceId));
            Assert.Single(await HistoryAsync(restarted, "alice", "Bob"), h => h.Body == "acked twice");

            // Transient failures are retried: the first two attempts of a deposit are dropped, the third lands.
            var depositAttempts = 0;
            restarted.FailRequest = request => request.Method == HttpMethod.Post
                && request.RequestUri!.AbsolutePath == "/v1/messages/sealed"
                && Interlocked.Increment(ref depositAttempts) <= 2;
            await restarted.OkAsync("bob", "send", "Alice", "after two dropped attempts");
            restarted.FailRequest = _ => false;
            Assert.Equal(3, depositAttempts);
            Assert.Contains("Bob: after two dropped attempts", await restarted.OkAsync("alice", "sync", "--wait", "0"), StringComparison.Ordinal);

            // A lost answer to the token request: its retry finds the challenge used, so the client
            // starts over with a new challenge instead of giving up.
            var tokenRequests = 0;
            restarted.LoseResponse = request => request.RequestUri!.AbsolutePath == "/v1/auth/token"
                && Interlocked.Increment(ref tokenRequests) == 1;
            await restarted.OkAsync("bob", "send", "Alice", "after a lost token answer");
            restarted.LoseResponse = _ => false;
            Assert.Equal(3, tokenRequests);
            Assert.Contains("Bob: after a lost token answer", await restarted.OkAsync("alice", "sync", "--wait", "0"), StringComparison.Ordinal);

            // Garbage in the mailbox is reported, recorded and acknowledged; it does not block what follows.
            var client = await cluster.ConnectClientAsync(Cancellation);
            await client.GetGrain<IMailboxGrain>(MailboxKeys.Of(aliceId, 1)).DepositAsync(Guid.NewGuid(), Encoding.UTF8.GetBytes("not a pigeon message"));
            await restarted.OkAsync("bob", "send", "Alice", "after the garbage");
            var garbled = await restarted.RunAsync("alice", "sync", "--wait", "0");
            Assert.Equal(0, garbled.ExitCode);
            Assert.Contains("could not be decrypted", garbled.Error, StringComparison.Ordinal);
            Assert.Contains("Bob: after the garbage", garbled.Output, StringComparison.Ordinal);
            Assert.Equal(0L, await MailboxCountAsync(database, aliceId));

            // The server goes away: sending fails clearly and the profile is exactly as it was.
            await gateway.Process.KillAsync();
            var before = restarted.Checksum("bob");
            var down = await restarted.RunAsync("bob", "send", "Alice", "into the void");
            Assert.Equal(3, down.ExitCode);
            Assert.Contains("Cannot reach the server", down.Error, StringComparison.Ordinal);
            Assert.Equal(before, restarted.Checksum("bob"));
            Assert.Equal(3, (await restarted.RunAsync("bob", "sync", "--wait", "0")).ExitCode);
            Assert.Equal(before, restarted.Checksum("bob"));
        }
        finally
        {
            if (Directory.Exists(home))
            {
                Directory.Delete(home, recursive: true);
            }
        }
    }

    [Fact]
    public async Task Invite_OfAnUnknownAccount_IsRefusedClearly_AndDeclineDiscardsARequest()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Cancellation);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        await cluster.StartSiloAsync(Cancellation);
        var gateway = await cluster.StartGatewayAsync(Cancellation);
        using var cli = new CliHarness();
        var (aliceId, bobId) = await InitBothAsync(cli, gateway);
        using var stranger = Pigeon.Protocol.Identity.IdentityKeyPair.Generate();

        var before = cli.Checksum("alice");
        var unknown = await cli.RunAsync("alice", "invite", stranger.AccountId);
        Assert.Equal(4, unknown.ExitCode);
        Assert.Contains($"No account has the id {stranger.AccountId}", unknown.Error, StringComparison.Ordinal);
        Assert.Equal(before, cli.Checksum("alice"));

        await cli.OkAsync("alice", "invite", bobId, "--message", "hello?");
        await cli.OkAsync("bob", "sync", "--wait", "0");
        Assert.Contains("Declined", await cli.OkAsync("bob", "decline", aliceId), StringComparison.Ordinal);
        Assert.Contains("No pending requests", await cli.OkAsync("bob", "requests"), StringComparison.Ordinal);
        Assert.Contains("No contacts yet", await cli.OkAsync("bob", "contacts"), StringComparison.Ordinal);
        Assert.Equal(2, (await cli.RunAsync("bob", "history", aliceId)).ExitCode);
        Assert.Contains("invited", await cli.OkAsync("alice", "contacts"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chat_ShowsIncomingMessagesWhileTyping_AndCtrlCLeavesCleanly()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Cancellation);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        await cluster.StartSiloAsync(Cancellation);
        var gateway = await cluster.StartGatewayAsync(Cancellation);
        using var cli = new CliHarness();
        var (_, bobId) = await InitContactsAsync(cli, gateway);

        var input = new TypedInput();
        var output = new WatchedOutput();
        using var error = new StringWriter();
        using var ctrlC = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        var chat = cli.RunAsync(["--profile", "alice", "chat", "Bob", "--poll", "2"], input, output, error, ctrlC.Token);
        await output.WaitForAsync("Chatting with Bob", TimeSpan.FromSeconds(30), Cancellation);

        // Alice has typed nothing: the receive loop shows Bob's message while her input waits.
        await cli.OkAsync("bob", "send", "Alice", "are you there?");
        await output.WaitForAsync("Bob: are you there?", TimeSpan.FromSeconds(30), Cancellation);
        input.Type("yes, typing now");
        await WaitUntilAsync(async () => (await cli.OkAsync("bob", "sync", "--wait", "1")).Contains("Alice: yes, typing now", StringComparison.Ordinal));

        await ctrlC.CancelAsync();
        Assert.Equal(0, await chat.WaitAsync(TimeSpan.FromSeconds(30), Cancellation));
        Assert.Contains("Left the chat.", output.ToString(), StringComparison.Ordinal);
        Assert.Equal("", error.ToString());
        var history = await HistoryAsync(cli, "alice", "Bob");
        Assert.Equal(["are you there?", "yes, typing now"], history.TakeLast(2).Select(h => h.Body));

        // sync --watch prints each message as it arrives (one JSON object a line) until Ctrl-C.
        var watched = new WatchedOutput();
        using var stopWatching = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        var watch = cli.RunAsync(["--profile", "alice", "--json", "sync", "--watch"], TextReader.Null, watched, error, stopWatching.Token);
        await cli.OkAsync("bob", "send", "Alice", "watched");
        await watched.WaitForAsync("\"body\":\"watched\"", TimeSpan.FromSeconds(30), Cancellation);
        await stopWatching.CancelAsync();
        Assert.Equal(0, await watch.WaitAsync(TimeSpan.FromSeconds(30), Cancellation));
        Assert.Equal("text", JsonDocument.Parse(watched.ToString().Trim()).RootElement.GetProperty("kind").GetString());
    }

    [Fact]
    public async Task ChatAndSyncWatch_AcknowledgeOnTheNextPoll_AndLeaveNothingUnacknowledged()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Cancellation);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        // Receives of up to 150 envelopes: more than one poll may carry the acknowledgements of.
        await cluster.StartSiloAsync(Cancellation, new Dictionary<string, string> { ["Pigeon__Mailbox__MaxReceiveBatch"] = "150" });
        var gateway = await cluster.StartGatewayAsync(Cancellation, new Dictionary<string, string> { ["Pigeon__Limits__MaxReceiveEnvelopes"] = "150" });
        using var cli = new CliHarness();
        var (aliceId, bobId) = await InitContactsAsync(cli, gateway);

        // chat: each poll carries what the previous one brought and was stored; leaving posts the last.
        cli.HttpBodies.Clear();
        using var error = new StringWriter();
        var output = new WatchedOutput();
        using (var ctrlC = CancellationTokenSource.CreateLinkedTokenSource(Cancellation))
        {
            var chat = cli.RunAsync(["--profile", "alice", "--json", "chat", "Bob", "--poll", "25"], new TypedInput(), output, error, ctrlC.Token);
            var chatIds = new List<Guid>();
            foreach (var text in new[] { "one", "two", "three" })
            {
                await cli.OkAsync("bob", "send", "Alice", text);
                chatIds.Add(await ReceivedIdAsync(output, text));
            }

            await ctrlC.CancelAsync();
            Assert.Equal(0, await chat.WaitAsync(TimeSpan.FromSeconds(30), Cancellation));
            AssertAcknowledged(cli, carried: chatIds[..2], posted: chatIds[2..]);
        }
        Assert.Equal(0L, await MailboxCountAsync(database, aliceId));

        // sync --watch the same way.
        cli.HttpBodies.Clear();
        var watched = new WatchedOutput();
        using (var ctrlC = CancellationTokenSource.CreateLinkedTokenSource(Cancellation))
        {
            var watch = cli.RunAsync(["--profile", "alice", "--json", "sync", "--watch"], TextReader.Null, watched, error, ctrlC.Token);
            var watchIds = new List<Guid>();
            foreach (var text in new[] { "four", "five" })
            {
                await cli.OkAsync("bob", "send", "Alice", text);
                watchIds.Add(await ReceivedIdAsync(watched, text));
            }

            await ctrlC.CancelAsync();
            Assert.Equal(0, await watch.WaitAsync(TimeSpan.FromSeconds(30), Cancellation));
            AssertAcknowledged(cli, carried: watchIds[..1], posted: watchIds[1..]);
        }
        Assert.Equal(0L, await MailboxCountAsync(database, aliceId));
        Assert.Equal("", error.ToString());

        // A batch of 150 is more than a poll may carry: it is posted before the next poll.
        var client = await cluster.ConnectClientAsync(Cancellation);
        var mailbox = client.GetGrain<IMailboxGrain>(MailboxKeys.Of(aliceId, 1));
        await Task.WhenAll(Enumerable.Range(0, 250).Select(i => mailbox.DepositAsync(Guid.NewGuid(), Encoding.UTF8.GetBytes($"not a pigeon message {i}"))));
        cli.HttpBodies.Clear();
        var sync = await cli.RunAsync("alice", "sync", "--wait", "0");
        Assert.True(sync.ExitCode == 0, sync.ToString());
        var polls = Requests(cli, "GET", "/v1/messages?");
        Assert.Equal(2, polls.Count);
        Assert.All(polls, p => Assert.DoesNotContain("ack=", p, StringComparison.Ordinal));
        Assert.Equal(2, Requests(cli, "POST", "/v1/messages/ack\n").Count);
        Assert.Equal(0L, await MailboxCountAsync(database, aliceId));
    }

    [Fact]
    public async Task DepositsToAContact_GoSealed_WithoutAToken_OrTheSendersId_OnlyTheInvitationIsIdentified()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Cancellation);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        await cluster.StartSiloAsync(Cancellation);
        var gateway = await cluster.StartGatewayAsync(Cancellation);
        using var cli = new CliHarness();
        var (aliceId, bobId) = await InitBothAsync(cli, gateway);
        await cli.OkAsync("alice", "invite", bobId);
        Assert.Single(Requests(cli, "POST", "/v1/messages\n"));
        await cli.OkAsync("bob", "sync", "--wait", "0");
        cli.HttpBodies.Clear();

        await cli.OkAsync("bob", "accept", "Alice");
        await cli.OkAsync("alice", "sync", "--wait", "0");
        await cli.OkAsync("alice", "send", "Bob", "sealed hello");
        await cli.OkAsync("bob", "send", "Alice", "sealed answer");

        Assert.Empty(Requests(cli, "POST", "/v1/messages\n"));
        var sealedDeposits = Requests(cli, "POST", "/v1/messages/sealed\n");
        Assert.Equal(3, sealedDeposits.Count);
        Assert.All(sealedDeposits, deposit =>
        {
            Assert.DoesNotContain("Authorization", deposit, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("Bearer", deposit, StringComparison.Ordinal);
        });
        // Each names its recipient, never its sender: Bob's acceptance and answer to Alice, her text to Bob.
        Assert.Equal(2, sealedDeposits.Count(d => d.Contains(aliceId, StringComparison.Ordinal) && !d.Contains(bobId, StringComparison.Ordinal)));
        Assert.Single(sealedDeposits, d => d.Contains(bobId, StringComparison.Ordinal) && !d.Contains(aliceId, StringComparison.Ordinal));
        Assert.Contains("Alice: sealed hello", await cli.OkAsync("bob", "sync", "--wait", "0"), StringComparison.Ordinal);
        Assert.Contains("Bob: sealed answer", await cli.OkAsync("alice", "sync", "--wait", "0"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RemovingAContact_RevokesItsSealedDeposits_AtTheGateway_WhileTheOtherContactGetsTheNewKey()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Cancellation);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        await cluster.StartSiloAsync(Cancellation);
        var gateway = await cluster.StartGatewayAsync(Cancellation);
        using var cli = new CliHarness();
        var (aliceId, bobId) = await InitBothAsync(cli, gateway);
        var carolId = JsonDocument.Parse(await cli.OkAsync("carol", "--json", "init", "--server", gateway.BaseAddress.ToString(), "--name", "Carol", "--no-passphrase"))
            .RootElement.GetProperty("accountId").GetString()!;
        foreach (var (friend, friendId) in new[] { ("bob", bobId), ("carol", carolId) })
        {
            await cli.OkAsync("alice", "invite", friendId);
            await cli.OkAsync(friend, "sync", "--wait", "0");
            await cli.OkAsync(friend, "accept", "Alice");
            await cli.OkAsync("alice", "sync", "--wait", "0");
        }

        Assert.Contains("Removed Bob", await cli.OkAsync("alice", "remove", "Bob"), StringComparison.Ordinal);
        await cli.OkAsync("carol", "sync", "--wait", "0");
        cli.HttpBodies.Clear();
        await cli.OkAsync("carol", "send", "Alice", "with the new key");
        var carolsSealed = Requests(cli, "POST", "/v1/messages/sealed\n").Count;
        var carolsIdentified = Requests(cli, "POST", "/v1/messages\n").Count;
        cli.HttpBodies.Clear();
        await cli.OkAsync("bob", "send", "Alice", "with the old key");
        var bobsSealed = Requests(cli, "POST", "/v1/messages/sealed\n").Count;
        var bobsIdentified = Requests(cli, "POST", "/v1/messages\n").Count;
        var aliceSync = await cli.RunAsync("alice", "sync", "--wait", "0");

        Assert.Equal((1, 0), (carolsSealed, carolsIdentified));
        // The gateway refuses Bob's old key; his client can only identify itself now.
        Assert.Equal((1, 1), (bobsSealed, bobsIdentified));
        Assert.Contains("Carol: with the new key", aliceSync.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("with the old key", aliceSync.Output, StringComparison.Ordinal);
        Assert.Contains("could not be decrypted", aliceSync.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(bobId, await cli.OkAsync("alice", "contacts"), StringComparison.Ordinal);
        Assert.Contains(aliceId, await cli.OkAsync("carol", "contacts"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReplayedFirstMessage_IsReportedAndAcked_AndDoesNotReplaceTheSession()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Cancellation);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        await cluster.StartSiloAsync(Cancellation);
        var gateway = await cluster.StartGatewayAsync(Cancellation);
        using var cli = new CliHarness();
        var (_, bobId) = await InitBothAsync(cli, gateway);
        await cli.OkAsync("alice", "invite", bobId, "--message", "only once");
        var deposit = cli.HttpBodies.Last(b => b.StartsWith("POST", StringComparison.Ordinal) && b.Contains("/v1/messages\n", StringComparison.Ordinal));
        var firstPayload = JsonDocument.Parse(deposit[deposit.IndexOf('{', StringComparison.Ordinal)..]).RootElement
            .GetProperty("envelopes")[0].GetProperty("payload").GetBytesFromBase64();
        await cli.OkAsync("bob", "sync", "--wait", "0");
        await cli.OkAsync("bob", "accept", "Alice");
        await cli.OkAsync("alice", "sync", "--wait", "0");

        // Someone with access to the server deposits Alice's first message again, under a new id.
        var client = await cluster.ConnectClientAsync(Cancellation);
        await client.GetGrain<IMailboxGrain>(MailboxKeys.Of(bobId, 1)).DepositAsync(Guid.NewGuid(), firstPayload);
        var replayed = await cli.RunAsync("bob", "sync", "--wait", "0");

        Assert.Equal(0, replayed.ExitCode);
        Assert.Contains("could not be decrypted (DuplicateMessage)", replayed.Error, StringComparison.Ordinal);
        Assert.Contains("No pending requests", await cli.OkAsync("bob", "requests"), StringComparison.Ordinal);
        await cli.OkAsync("alice", "send", "Bob", "the session still works");
        Assert.Contains("Alice: the session still works", await cli.OkAsync("bob", "sync", "--wait", "0"), StringComparison.Ordinal);
        Assert.Equal(0L, await MailboxCountAsync(database, bobId));
    }

    /// <summary>Waits for a received text in JSON output and returns its message id.</summary>
    private static async Task<Guid> ReceivedIdAsync(WatchedOutput output, string body)
    {
        await output.WaitForAsync($"\"body\":\"{body}\"", TimeSpan.FromSeconds(30), Cancellation);
        var line = output.ToString().Split('\n').Single(l => l.Contains($"\"body\":\"{body}\"", StringComparison.Ordinal));
        return JsonDocument.Parse(line).RootElement.GetProperty("messageId").GetGuid();
    }

    /// <summary>The requests the client sent to a path, each as its method, address, headers and body.</summary>
    private static List<string> Requests(CliHarness cli, string method, string path) =>
        [.. cli.HttpBodies.Where(b => b.StartsWith(method + " ", StringComparison.Ordinal) && b.Contains(path, StringComparison.Ordinal))];

    /// <summary>
    /// <paramref name="carried"/> were acknowledged by a poll only; <paramref name="posted"/> by a POST
    /// when the command left (a poll may have carried them too, and been cancelled).
    /// </summary>
    private static void AssertAcknowledged(CliHarness cli, IEnumerable<Guid> carried, IEnumerable<Guid> posted)
    {
        var polls = Requests(cli, "GET", "/v1/messages?").Select(r => r[..r.IndexOf('\n', StringComparison.Ordinal)]).ToList();
        var acks = Requests(cli, "POST", "/v1/messages/ack\n");
        foreach (var id in carried)
        {
            Assert.Contains(polls, p => p.Contains($"ack={id}", StringComparison.Ordinal));
            Assert.DoesNotContain(acks, a => a.Contains(id.ToString(), StringComparison.Ordinal));
        }
        foreach (var id in posted)
        {
            Assert.Contains(acks, a => a.Contains(id.ToString(), StringComparison.Ordinal));
        }
        Assert.Single(acks);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "The condition did not hold within 30 s.");
        }
    }

    // Encrypted profiles take their passphrase from the harness's PIGEON_PASSPHRASE; the others are
    // plaintext by choice (--no-passphrase), as a script without a terminal must say.
    internal static async Task<(string AliceId, string BobId)> InitBothAsync(CliHarness cli, GatewayHandle gateway, bool encrypted = false)
    {
        var server = gateway.BaseAddress.ToString();
        string[] choice = encrypted ? [] : ["--no-passphrase"];
        var alice = JsonDocument.Parse(await cli.OkAsync("alice", ["--json", "init", "--server", server, "--name", "Alice", .. choice])).RootElement;
        var bob = JsonDocument.Parse(await cli.OkAsync("bob", ["--json", "init", "--server", server, "--name", "Bob", .. choice])).RootElement;
        return (alice.GetProperty("accountId").GetString()!, bob.GetProperty("accountId").GetString()!);
    }

    /// <summary>Alice and Bob (no passphrase), each other's contacts: Alice invited, Bob accepted (by her name), Alice took the acceptance.</summary>
    internal static async Task<(string AliceId, string BobId)> InitContactsAsync(CliHarness cli, GatewayHandle gateway)
    {
        var (aliceId, bobId) = await InitBothAsync(cli, gateway);
        await cli.OkAsync("alice", "invite", bobId);
        await cli.OkAsync("bob", "sync", "--wait", "0");
        await cli.OkAsync("bob", "accept", "Alice");
        await cli.OkAsync("alice", "sync", "--wait", "0");
        return (aliceId, bobId);
    }

    /// <summary>Alice, Bob and Carol (no passphrase); Alice invites Bob and Carol and both accept, so Alice is the contact of each and they are not each other's.</summary>
    internal static async Task<(string AliceId, string BobId, string CarolId)> InitAliceWithTwoContactsAsync(CliHarness cli, GatewayHandle gateway)
    {
        var (aliceId, bobId) = await InitBothAsync(cli, gateway);
        var carolId = JsonDocument.Parse(await cli.OkAsync("carol", "--json", "init", "--server", gateway.BaseAddress.ToString(), "--name", "Carol", "--no-passphrase"))
            .RootElement.GetProperty("accountId").GetString()!;
        foreach (var (friend, id) in new[] { ("bob", bobId), ("carol", carolId) })
        {
            await cli.OkAsync("alice", "invite", id);
            await cli.OkAsync(friend, "sync", "--wait", "0");
            await cli.OkAsync(friend, "accept", aliceId);
        }

        await cli.OkAsync("alice", "sync", "--wait", "0");
        return (aliceId, bobId, carolId);
    }

    private sealed record HistoryItem(string Direction, string Kind, string Status, string? Body);

    private static async Task<List<HistoryItem>> HistoryAsync(CliHarness cli, string profile, string contact)
    {
        var json = JsonDocument.Parse(await cli.OkAsync(profile, "--json", "history", contact)).RootElement;
        return [.. json.EnumerateArray().Select(e => new HistoryItem(
            e.GetProperty("direction").GetString()!, e.GetProperty("kind").GetString()!, e.GetProperty("status").GetString()!,
            e.TryGetProperty("body", out var body) ? body.GetString() : null))];
    }

    /// <summary>How many envelopes wait in one mailbox (receipts make others' mailboxes fill too).</summary>
    internal static async Task<long> MailboxCountAsync(TestDatabase database, string accountId)
    {
        await using var command = database.DataSource.CreateCommand("SELECT count(*) FROM pigeon.envelopes WHERE mailbox_id = $1");
        command.Parameters.AddWithValue(MailboxKeys.Of(accountId, 1));
        return (long)(await command.ExecuteScalarAsync(Cancellation))!;
    }

    internal static async Task<object?> ScalarAsync(TestDatabase database, string sql)
    {
        await using var command = database.DataSource.CreateCommand(sql);
        return await command.ExecuteScalarAsync(Cancellation);
    }

    /// <summary>Every row of every table in the database, as text.</summary>
    private static Task<string> DumpAsync(TestDatabase database) => DumpAsync(database.DataSource);

    /// <summary>Every row of every table of the database behind <paramref name="dataSource"/>, as text (bytea as hex).</summary>
    internal static async Task<string> DumpAsync(Npgsql.NpgsqlDataSource dataSource)
    {
        var tables = new List<string>();
        await using (var list = dataSource.CreateCommand(
            "SELECT format('%I.%I', table_schema, table_name) FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')"))
        await using (var reader = await list.ExecuteReaderAsync(Cancellation))
        {
            while (await reader.ReadAsync(Cancellation))
            {
                tables.Add(reader.GetString(0));
            }
        }
        Assert.Contains("pigeon.envelopes", tables);
        var dump = new StringBuilder();
        foreach (var table in tables)
        {
            await using var select = dataSource.CreateCommand($"SELECT t::text FROM {table} t");
            await using var reader = await select.ExecuteReaderAsync(Cancellation);
            while (await reader.ReadAsync(Cancellation))
            {
                dump.AppendLine(reader.GetString(0));
            }
        }
        return dump.ToString();
    }
}
