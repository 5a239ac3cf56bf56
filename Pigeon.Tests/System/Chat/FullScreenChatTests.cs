using System.Text.Json;
using System.Diagnostics;
using Pigeon.Client.Cli;
using Pigeon.Tests.Client;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.SystemTier.Chat;

/// <summary>
/// The full-screen <c>pigeon chat</c> on a real terminal: the built <c>pigeon</c> runs in a tmux pane
/// (scripts/test.sh installs tmux), keys are typed into it, and the screen's text is read back with
/// <c>tmux capture-pane</c>.
/// </summary>
public sealed class FullScreenChatTests
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task FullScreenChat_KeepsTheInputLineWhileMessagesArrive_SwitchesConversations_AndEscOrCtrlCLeaveAtOnce()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Cancellation);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        await cluster.StartSiloAsync(Cancellation);
        var gateway = await cluster.StartGatewayAsync(Cancellation);
        using var cli = new CliHarness();
        var (_, bobId) = await EndToEndTests.InitBothAsync(cli, gateway);
        await cli.OkAsync("carol", "init", "--server", gateway.BaseAddress.ToString(), "--name", "Carol", "--no-passphrase");
        foreach (var friend in new[] { "alice", "carol" })
        {
            await cli.OkAsync(friend, "invite", bobId);
            await cli.OkAsync("bob", "sync", "--wait", "0");
            await cli.OkAsync("bob", "accept", friend);
            await cli.OkAsync(friend, "sync", "--wait", "0");
        }
        await cli.OkAsync("alice", "send", "Bob", "before the chat\n[00:00] Carol: forged line");

        await using var tmux = new TmuxPane(cli.Home, "--profile", "bob", "chat", "Alice");
        var screen = await tmux.WaitForAsync("Alice: before the chat");
        Assert.Contains("Conversations", screen, StringComparison.Ordinal);
        // The second line of that message is indented under it: it cannot pass for Carol's.
        Assert.DoesNotContain(screen.Split('\n'), line => line.Contains("│[00:00] Carol:", StringComparison.Ordinal));

        // Typing, then a message arrives: it shows in the conversation, the half-typed line stays as it was.
        await tmux.TypeAsync("half typed");
        await tmux.WaitForAsync("> half typed");
        Assert.Contains("Bob is typing", await cli.OkAsync("alice", "sync", "--wait", "0"), StringComparison.Ordinal);
        await cli.OkAsync("alice", "send", "Bob", "interrupting message");
        screen = await tmux.WaitForAsync("Alice: interrupting message");
        Assert.Contains("> half typed█", screen, StringComparison.Ordinal);
        Assert.DoesNotContain("half typedinterrupting", screen, StringComparison.Ordinal);

        // Enter sends it; once Alice's client has it, its state moves from sent to delivered.
        await tmux.KeysAsync("Enter");
        await tmux.WaitForAsync("Bob: half typed  · ");
        Assert.Contains("Bob: half typed", await cli.OkAsync("alice", "sync", "--wait", "0"), StringComparison.Ordinal);
        await tmux.WaitForAsync("Bob: half typed  · delivered");

        // A message from Carol counts as unread in the list; Tab opens her conversation, which reads it.
        await cli.OkAsync("carol", "send", "Bob", "hello from carol");
        await tmux.WaitForAsync("Carol (1)");
        await tmux.KeysAsync("Tab");
        screen = await tmux.WaitForAsync("Carol: hello from carol");
        Assert.DoesNotContain("Carol (1)", screen, StringComparison.Ordinal);
        await cli.OkAsync("carol", "sync", "--wait", "0");
        Assert.Contains("hello from carol", await cli.OkAsync("bob", "history", "Carol"), StringComparison.Ordinal);

        // Scrollback: a long message pushes earlier lines off; PageUp brings them back, PageDown returns.
        await cli.OkAsync("carol", "send", "Bob", string.Join('\n', Enumerable.Range(1, 40).Select(i => $"line {i:00}")));
        screen = await tmux.WaitForAsync("line 40");
        Assert.DoesNotContain("line 10", screen, StringComparison.Ordinal);
        await tmux.KeysAsync("PageUp");
        screen = await tmux.WaitForAsync("lines below");
        Assert.Contains("line 10", screen, StringComparison.Ordinal);
        Assert.DoesNotContain("line 40", screen, StringComparison.Ordinal);
        await tmux.KeysAsync("PageDown");
        await tmux.WaitForAsync("line 40");

        // Esc leaves, the first time.
        await tmux.KeysAsync("Escape");
        screen = await tmux.WaitForAsync("exited 0");
        Assert.Contains("Left the chat.", screen, StringComparison.Ordinal);

        // So does Ctrl-C.
        await using var again = new TmuxPane(cli.Home, "--profile", "bob", "chat");
        await again.WaitForAsync("Conversations");
        await again.KeysAsync("C-c");
        Assert.Contains("Left the chat.", await again.WaitForAsync("exited 0"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task FullScreenChat_OpensAGroup_NamesEachAuthor_AndSendsToEveryMember()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Cancellation);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        await cluster.StartSiloAsync(Cancellation);
        var gateway = await cluster.StartGatewayAsync(Cancellation);
        using var cli = new CliHarness();
        var (_, _, carolId) = await EndToEndTests.InitAliceWithTwoContactsAsync(cli, gateway);
        await cli.OkAsync("alice", "group", "create", "Trip", "Bob", "Carol");
        await cli.OkAsync("carol", "sync", "--wait", "0");
        var unknown = await cli.RunAsync("bob", "chat", "Trip", "--line");
        Assert.Equal((ExitCodes.NotFound, true), (unknown.ExitCode, unknown.Error.Contains("No contact or group is called or has the id 'Trip'.", StringComparison.Ordinal)));
        await cli.OkAsync("bob", "sync", "--wait", "0");

        // Bob opens the group by title: the list shows it after his contact, its change history is there.
        await using var tmux = new TmuxPane(cli.Home, "--profile", "bob", "chat", "trip");
        var screen = await tmux.WaitForAsync("Alice created 'Trip'");
        Assert.Contains("# Trip", screen, StringComparison.Ordinal);
        Assert.Contains("Trip (group, 3 members)", screen, StringComparison.Ordinal);

        // A text from Alice (his contact) carries her name; one from Carol (not his contact) her account id's start.
        await cli.OkAsync("alice", "send", "Trip", "from alice");
        await tmux.WaitForAsync("Alice: from alice");
        await cli.OkAsync("carol", "send", "Trip", "from carol");
        await tmux.WaitForAsync($"{carolId[..8]}…: from carol");

        // What Bob types goes to both members, in the group.
        await tmux.TypeAsync("from bob");
        await tmux.KeysAsync("Enter");
        await tmux.WaitForAsync("Bob: from bob  · sent");
        Assert.Contains("Bob in Trip: from bob", await cli.OkAsync("alice", "sync", "--wait", "0"), StringComparison.Ordinal);
        Assert.Contains("Bob in Trip: from bob", await cli.OkAsync("carol", "sync", "--wait", "0"), StringComparison.Ordinal);

        // /attach sends a file to the group in the background; the status line follows it, the history shows it.
        var notes = Path.Combine(cli.Home, "notes.txt");
        await File.WriteAllTextAsync(notes, string.Concat(Enumerable.Repeat("the plan\n", 300)), Cancellation);
        await tmux.TypeAsync($"/attach {notes}");
        await tmux.KeysAsync("Enter");
        await tmux.WaitForAsync("Sent notes.txt.");
        await tmux.WaitForAsync("Bob: [file notes.txt, 2.6 KiB: 'pigeon save ");
        Assert.Contains("Bob in Trip: [file notes.txt, 2.6 KiB", await cli.OkAsync("alice", "sync", "--wait", "0"), StringComparison.Ordinal);
        var carols = await cli.OkAsync("carol", "--json", "sync", "--wait", "0");
        var id = Assert.Single(JsonDocument.Parse(carols).RootElement.EnumerateArray(), e => e.TryGetProperty("attachment", out _)).GetProperty("attachment").GetProperty("id").GetGuid();
        var saved = Path.Combine(cli.Home, "carols-notes.txt");
        await cli.OkAsync("carol", "save", id.ToString("N")[..8], saved);
        Assert.Equal(await File.ReadAllTextAsync(notes, Cancellation), await File.ReadAllTextAsync(saved, Cancellation));
        await tmux.KeysAsync("Escape");
        await tmux.WaitForAsync("exited 0");

        // On a terminal, send --file draws a progress bar (bytes, rate, time left) on stderr; the result stays on stdout.
        var large = Path.Combine(cli.Home, "large.bin");
        await File.WriteAllBytesAsync(large, System.Security.Cryptography.RandomNumberGenerator.GetBytes(40 * 1024 * 1024), Cancellation);
        await using var sending = new TmuxPane(cli.Home, "--profile", "bob", "send", "Trip", "--file", large);
        var running = await sending.WaitForAsync("B/s");
        var done = await sending.WaitForAsync("exited 0");
        Assert.Matches(@"Uploading large\.bin .*[0-9]+% [0-9.]+/[0-9.]+ MiB .*[0-9.]+ [KM]i?B/s [0-9:]+", running);
        Assert.Matches(@"Uploading large\.bin .*100% ", done);
        Assert.Contains("Sent large.bin to Trip.", done, StringComparison.Ordinal);
    }

    /// <summary>A detached tmux session of its own (its own server socket), running <c>pigeon</c> in a 120×30 pane.</summary>
    private sealed class TmuxPane : IAsyncDisposable
    {
        private readonly string _server = $"pigeon-test-{Guid.NewGuid():N}";

        public TmuxPane(string home, params string[] arguments)
        {
            var pigeon = BuiltApps.AssemblyOf("Pigeon.Client", "pigeon");
            var command = $"env PIGEON_HOME='{home}' dotnet '{pigeon}' {string.Join(' ', arguments.Select(a => $"'{a}'"))}; echo \"exited $?\"; sleep 600";
            Run("new-session", "-d", "-x", "120", "-y", "30", "-s", "chat", command);
        }

        public Task TypeAsync(string text) => Task.Run(() => Run("send-keys", "-t", "chat", "-l", text));

        public Task KeysAsync(string key) => Task.Run(() => Run("send-keys", "-t", "chat", key));

        public string Capture() => Run("capture-pane", "-p", "-t", "chat");

        public async Task<string> WaitForAsync(string text)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (true)
            {
                var screen = Capture();
                if (screen.Contains(text, StringComparison.Ordinal))
                {
                    return screen;
                }
                Assert.True(DateTime.UtcNow < deadline, $"'{text}' did not appear on the screen within 60 s:\n{screen}");
                await Task.Delay(200, Cancellation);
            }
        }

        public ValueTask DisposeAsync()
        {
            try
            {
                Run("kill-server");
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
            return ValueTask.CompletedTask;
        }

        private string Run(params string[] arguments)
        {
            var start = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            start.ArgumentList.Add("-L");
            start.ArgumentList.Add(_server);
            foreach (var argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }
            using var process = Process.Start(start) ?? throw new InvalidOperationException("tmux did not start (scripts/test.sh installs it).");
            var output = process.StandardOutput.ReadToEnd();
            var error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0 ? output : throw new InvalidOperationException($"tmux {string.Join(' ', arguments)}: {error}");
        }
    }
}
