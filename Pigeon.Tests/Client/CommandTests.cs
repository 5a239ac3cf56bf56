using System.Text.Json;
using Microsoft.Data.Sqlite;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Client;

/// <summary>The commands parsed and invoked in this process, with captured output and a temporary home; no server.</summary>
public sealed class CommandTests : IDisposable
{
    private readonly CliHarness _cli = new();

    public void Dispose() => _cli.Dispose();

    private static string DeadServer() => $"http://127.0.0.1:{BuiltApps.FreePort()}";

    [Fact]
    public async Task Help_ListsTheCommandsAndTheExitCodes()
    {
        var run = await _cli.RunAsync(["--help"], ct: TestContext.Current.CancellationToken);

        Assert.Equal(0, run.ExitCode);
        foreach (var command in new[] { "init", "whoami", "invite", "requests", "accept", "decline", "contacts", "send", "sync", "history", "chat", "verify", "timer", "passphrase", "attachments", "save" })
        {
            Assert.Contains(command, run.Output, StringComparison.Ordinal);
        }
        Assert.Contains("Exit codes", run.Output, StringComparison.Ordinal);
        Assert.Contains("5  wrong or missing passphrase", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Settings_AutoDownload_TakesASize_ShowsIt_AndRefusesWhatIsNotOne()
    {
        OfflineProfiles.Create(_cli, "alice", DeadServer());

        var shownByDefault = await _cli.OkAsync("alice", "settings");
        var set = await _cli.OkAsync("alice", "settings", "--auto-download", "2MiB");
        var json = JsonDocument.Parse(await _cli.OkAsync("alice", "--json", "settings")).RootElement;
        var off = await _cli.OkAsync("alice", "settings", "--auto-download", "0");
        var before = _cli.Checksum("alice");
        var refused = await _cli.RunAsync("alice", "settings", "--auto-download", "lots");

        Assert.Contains("Auto-download:  files up to 10.0 MiB", shownByDefault, StringComparison.Ordinal);
        Assert.Contains("Auto-download:  files up to 2.0 MiB", set, StringComparison.Ordinal);
        Assert.Equal(2L * 1024 * 1024, json.GetProperty("autoDownloadBytes").GetInt64());
        Assert.Contains("Auto-download:  off", off, StringComparison.Ordinal);
        Assert.Equal((1, true), (refused.ExitCode, refused.Error.Contains("--auto-download takes a size", StringComparison.Ordinal)));
        Assert.Equal(before, _cli.Checksum("alice"));
    }

    [Fact]
    public async Task Attachments_AndSave_WithoutFiles_SayWhatToDo_AndChangeNothing()
    {
        OfflineProfiles.Create(_cli, "alice", DeadServer());
        var before = _cli.Checksum("alice");

        var listed = await _cli.OkAsync("alice", "attachments");
        var unknown = await _cli.RunAsync("alice", "save", "abcd1234");
        var empty = await _cli.RunAsync("alice", "send", "bob");

        Assert.Contains("No files yet: 'pigeon send CONTACT --file PATH' sends one.", listed, StringComparison.Ordinal);
        Assert.Equal((2, true), (unknown.ExitCode, unknown.Error.Contains("No attachment has an id starting with 'abcd1234'. 'pigeon attachments' lists them.", StringComparison.Ordinal)));
        Assert.Equal((1, true), (empty.ExitCode, empty.Error.Contains("The message is empty", StringComparison.Ordinal)));
        Assert.Equal(before, _cli.Checksum("alice"));
    }

    [Fact]
    public async Task UnknownCommand_IsAUsageError()
    {
        var run = await _cli.RunAsync(["fly"], ct: TestContext.Current.CancellationToken);

        Assert.Equal(1, run.ExitCode);
    }

    [Fact]
    public async Task Whoami_WithoutAProfile_SaysToInit_AndCreatesNothing()
    {
        var run = await _cli.RunAsync("nobody", "whoami");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("pigeon init", run.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_cli.Home));
    }

    [Fact]
    public async Task Init_WithAMalformedServerAddress_IsAUsageError()
    {
        var run = await _cli.RunAsync("alice", "init", "--server", "not a url");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("not an http(s) address", run.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_cli.Home));
    }

    [Theory]
    [InlineData("http://pigeon.invalid:8080")]
    [InlineData("http://192.0.2.7/")]
    [InlineData("http://[2001:db8::7]:8080/")]
    public async Task Init_OverPlainHttpToAnotherHost_IsRefused_AndCreatesNothing(string server)
    {
        var run = await _cli.RunAsync("alice", "init", "--server", server);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("--insecure", run.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_cli.Home));
    }

    [Fact]
    public async Task Init_OverPlainHttpWithInsecure_WarnsAndGoesOn()
    {
        // Past the check, the unresolvable host is what stops it.
        var run = await _cli.RunAsync("alice", "init", "--server", "http://pigeon.invalid:8080", "--insecure", "--no-passphrase");

        Assert.Contains("warning: --insecure", run.Error, StringComparison.Ordinal);
        Assert.Equal(3, run.ExitCode);
        Assert.Contains("Cannot reach the server", run.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://localhost:9/")]
    [InlineData("http://[::1]:9/")]
    public async Task Init_OverPlainHttpToThisMachine_NeedsNoInsecure(string server)
    {
        var run = await _cli.RunAsync("alice", "init", "--server", server, "--no-passphrase");

        Assert.Equal(3, run.ExitCode);
        Assert.DoesNotContain("insecure", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Init_WithoutATerminalOrAPassphrase_IsRefused_AndOnlyNoPassphraseMakesAPlaintextProfile()
    {
        var run = await _cli.RunAsync("alice", "init", "--server", DeadServer());

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("--no-passphrase", run.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(_cli.DatabasePath("alice")));
    }

    [Fact]
    public async Task Init_OnATerminal_AsksForThePassphraseTwice_AndTwoDifferentAnswersCreateNothing()
    {
        var prompts = new List<string>();
        var answers = new Queue<string>(["one passphrase", "another one", "same passphrase", "same passphrase"]);
        _cli.PromptSecret = prompt =>
        {
            prompts.Add(prompt);
            return answers.Dequeue();
        };

        var differ = await _cli.RunAsync("alice", "init", "--server", DeadServer());
        // The same answer twice goes on to the server (which is down here).
        var same = await _cli.RunAsync("alice", "init", "--server", DeadServer());

        Assert.Equal(1, differ.ExitCode);
        Assert.Contains("differ", differ.Error, StringComparison.Ordinal);
        Assert.Equal(3, same.ExitCode);
        Assert.Equal(["New passphrase: ", "Repeat the passphrase: ", "New passphrase: ", "Repeat the passphrase: "], prompts);
        Assert.False(File.Exists(_cli.DatabasePath("alice")));
    }

    [Fact]
    public async Task PassphraseFile_UnlocksAProfile_AndPassphraseChangesIt()
    {
        OfflineProfiles.Create(_cli, "alice", DeadServer(), passphrase: "first passphrase");
        var file = Path.Combine(_cli.Home, "passphrase.txt");
        await File.WriteAllTextAsync(file, "first passphrase\n", TestContext.Current.CancellationToken);
        Assert.Contains("encrypted", await _cli.OkAsync("alice", "--passphrase-file", file, "whoami"), StringComparison.OrdinalIgnoreCase);

        _cli.SetEnvironment("PIGEON_NEW_PASSPHRASE", "second passphrase");
        await _cli.OkAsync("alice", "--passphrase-file", file, "passphrase");

        var old = await _cli.RunAsync("alice", "--passphrase-file", file, "whoami");
        Assert.Equal(5, old.ExitCode);
        Assert.Contains("Wrong passphrase", old.Error, StringComparison.Ordinal);
        _cli.SetEnvironment("PIGEON_PASSPHRASE", "second passphrase");
        await _cli.OkAsync("alice", "whoami");
        await _cli.OkAsync("alice", "passphrase", "--no-passphrase");
        _cli.SetEnvironment("PIGEON_PASSPHRASE", null);
        Assert.Equal(0, OfflineProfiles.HeaderStoreKey(_cli, "alice")[0]);
        await _cli.OkAsync("alice", "whoami");
    }

    [Theory]
    [InlineData("2h")]
    [InlineData("forever")]
    public async Task Timer_WithAValueNotOffered_IsAUsageError(string value)
    {
        OfflineProfiles.Create(_cli, "alice", DeadServer());

        var run = await _cli.RunAsync("alice", "timer", "bob", value);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("1h, 1d, 1w or off", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Init_WithTheServerDown_ExitsThree_AndCreatesNoProfile()
    {
        var run = await _cli.RunAsync("alice", "init", "--server", DeadServer(), "--no-passphrase");

        Assert.Equal(3, run.ExitCode);
        Assert.Contains("Cannot reach the server", run.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(_cli.DatabasePath("alice")));
    }

    [Fact]
    public async Task Whoami_ShowsIdNameServerAndFingerprint()
    {
        var id = OfflineProfiles.Create(_cli, "alice", "http://127.0.0.1:9/");

        var text = await _cli.OkAsync("alice", "whoami");
        var json = JsonDocument.Parse(await _cli.OkAsync("alice", "--json", "whoami")).RootElement;

        Assert.Contains(id, text, StringComparison.Ordinal);
        Assert.Contains("Fingerprint:", text, StringComparison.Ordinal);
        Assert.Equal(id, json.GetProperty("accountId").GetString());
        Assert.Equal("alice", json.GetProperty("name").GetString());
        Assert.Matches("^[0-9a-f]{4}( [0-9a-f]{4}){4}$", json.GetProperty("fingerprint").GetString());
        Assert.False(json.GetProperty("encrypted").GetBoolean());
    }

    [Fact]
    public async Task Contacts_AndRequests_WhenEmpty_SaySo()
    {
        OfflineProfiles.Create(_cli, "alice", "http://127.0.0.1:9/");

        Assert.Contains("No contacts yet", await _cli.OkAsync("alice", "contacts"), StringComparison.Ordinal);
        Assert.Contains("No pending requests", await _cli.OkAsync("alice", "requests"), StringComparison.Ordinal);
        Assert.Equal("[]", (await _cli.OkAsync("alice", "--json", "contacts")).Trim());
    }

    [Fact]
    public async Task BlockAndUnblock_OfAnAccountId_ListAndUnlist_AndBadReferencesAreRefusedClearly()
    {
        OfflineProfiles.Create(_cli, "alice", DeadServer());
        var stranger = OfflineProfiles.Create(_cli, "stranger", DeadServer());

        Assert.Contains("Nobody is blocked", await _cli.OkAsync("alice", "blocked"), StringComparison.Ordinal);
        // Blocking someone who never had our delivery key needs no server.
        Assert.Contains($"Blocked {stranger}", await _cli.OkAsync("alice", "block", stranger), StringComparison.Ordinal);
        Assert.Contains(stranger, await _cli.OkAsync("alice", "blocked"), StringComparison.Ordinal);
        var invite = await _cli.RunAsync("alice", "invite", stranger);
        Assert.Equal((1, true), (invite.ExitCode, invite.Error.Contains("is blocked", StringComparison.Ordinal)));
        Assert.Contains("Unblocked", await _cli.OkAsync("alice", "unblock", stranger), StringComparison.Ordinal);
        Assert.Contains("Nobody is blocked", await _cli.OkAsync("alice", "blocked"), StringComparison.Ordinal);

        var before = _cli.Checksum("alice");
        var again = await _cli.RunAsync("alice", "unblock", stranger);
        var nobody = await _cli.RunAsync("alice", "block", "nobody-by-that-name");
        var remove = await _cli.RunAsync("alice", "remove", "Bob");

        Assert.Equal((2, true), (again.ExitCode, again.Error.Contains("is not blocked", StringComparison.Ordinal)));
        Assert.Equal(2, nobody.ExitCode);
        Assert.Equal((2, true), (remove.ExitCode, remove.Error.Contains("No contact is called", StringComparison.Ordinal)));
        Assert.Equal(before, _cli.Checksum("alice"));
    }

    [Fact]
    public async Task Invite_WithAMalformedId_IsAUsageError_AndLeavesTheStoreUnchanged()
    {
        OfflineProfiles.Create(_cli, "alice", DeadServer());
        var before = _cli.Checksum("alice");

        var run = await _cli.RunAsync("alice", "invite", "NOT-AN-ID");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("is not an account id", run.Error, StringComparison.Ordinal);
        Assert.Equal(before, _cli.Checksum("alice"));
    }

    [Fact]
    public async Task Invite_WithTheServerDown_ExitsThree_AndLeavesTheStoreUnchanged()
    {
        OfflineProfiles.Create(_cli, "alice", DeadServer());
        using var other = Pigeon.Protocol.Identity.IdentityKeyPair.Generate();
        var before = _cli.Checksum("alice");

        var run = await _cli.RunAsync("alice", "invite", other.AccountId);

        Assert.Equal(3, run.ExitCode);
        Assert.Contains("Cannot reach the server", run.Error, StringComparison.Ordinal);
        Assert.Equal(before, _cli.Checksum("alice"));
    }

    [Theory]
    [InlineData("send", "bob", "hello")]
    [InlineData("history", "bob")]
    [InlineData("verify", "bob")]
    [InlineData("chat", "bob")]
    [InlineData("accept", "bob")]
    [InlineData("decline", "bob")]
    public async Task UnknownContact_ExitsTwo_AndLeavesTheStoreUnchanged(params string[] args)
    {
        OfflineProfiles.Create(_cli, "alice", DeadServer());
        var before = _cli.Checksum("alice");

        var run = await _cli.RunAsync("alice", args);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("bob", run.Error, StringComparison.Ordinal);
        Assert.Equal(before, _cli.Checksum("alice"));
    }

    [Fact]
    public async Task WrongPassphrase_ExitsFive_AndLeavesTheStoreUnchanged()
    {
        OfflineProfiles.Create(_cli, "alice", DeadServer(), passphrase: "correct horse");
        var before = _cli.Checksum("alice");
        _cli.SetEnvironment("PIGEON_PASSPHRASE", "wrong horse");

        var run = await _cli.RunAsync("alice", "contacts");

        Assert.Equal(5, run.ExitCode);
        Assert.Contains("Wrong passphrase", run.Error, StringComparison.Ordinal);
        Assert.Equal(before, _cli.Checksum("alice"));

        _cli.SetEnvironment("PIGEON_PASSPHRASE", "correct horse");
        Assert.Contains("No contacts yet", await _cli.OkAsync("alice", "contacts"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task EncryptedProfile_WithoutAPassphrase_ExitsFive()
    {
        OfflineProfiles.Create(_cli, "alice", DeadServer(), passphrase: "correct horse");

        var run = await _cli.RunAsync("alice", "whoami");

        Assert.Equal(5, run.ExitCode);
        Assert.Contains("PIGEON_PASSPHRASE", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DamagedProfile_ExitsSix_WithAMessageNotAStackTrace()
    {
        OfflineProfiles.Create(_cli, "alice", DeadServer());
        await File.WriteAllTextAsync(_cli.DatabasePath("alice"), "this is not a database", TestContext.Current.CancellationToken);

        var run = await _cli.RunAsync("alice", "contacts");

        Assert.Equal(6, run.ExitCode);
        Assert.Contains("could not be read or written", run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Json_Errors_AreJsonOnStderr()
    {
        OfflineProfiles.Create(_cli, "alice", DeadServer());

        var run = await _cli.RunAsync("alice", "--json", "history", "bob");

        Assert.Equal(2, run.ExitCode);
        var error = JsonDocument.Parse(run.Error).RootElement;
        Assert.Equal(2, error.GetProperty("exitCode").GetInt32());
    }

    [Fact]
    public async Task Send_EmptyTextFromStdin_IsAUsageError()
    {
        OfflineProfiles.Create(_cli, "alice", DeadServer());

        var run = await _cli.RunAsync(["--profile", "alice", "send", "bob", "-"], "\n", TestContext.Current.CancellationToken);

        Assert.Equal(1, run.ExitCode);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void Profile_IsReadableByTheOwnerOnly()
    {
        OfflineProfiles.Create(_cli, "alice", DeadServer());

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_cli.ProfileDirectory("alice")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_cli.DatabasePath("alice")));
    }

    [Fact]
    public void Profile_HasTheCurrentSchemaVersion()
    {
        OfflineProfiles.Create(_cli, "alice", DeadServer());

        using var connection = new SqliteConnection($"Data Source={_cli.DatabasePath("alice")};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA user_version";
        Assert.Equal(4L, command.ExecuteScalar());
    }

    [Fact]
    public void NoProfile_HoldsThePrivateKeysInTheClear_ButOnlyAPlaintextOneHoldsItsStoreKey()
    {
        OfflineProfiles.Create(_cli, "plain", DeadServer());
        OfflineProfiles.Create(_cli, "sealed", DeadServer(), passphrase: "correct horse");

        var plainKeys = OfflineProfiles.PrivateIdentityBytes(_cli, "plain", null);
        var sealedKeys = OfflineProfiles.PrivateIdentityBytes(_cli, "sealed", "correct horse");

        Assert.True(File.ReadAllBytes(_cli.DatabasePath("plain")).AsSpan().IndexOf(plainKeys[5..]) < 0);
        Assert.True(File.ReadAllBytes(_cli.DatabasePath("sealed")).AsSpan().IndexOf(sealedKeys[5..]) < 0);
        // The check works: the plaintext profile's store key is in its header as it is (0x00 ‖ key).
        Assert.Equal(0, OfflineProfiles.HeaderStoreKey(_cli, "plain")[0]);
        Assert.Equal(1, OfflineProfiles.HeaderStoreKey(_cli, "sealed")[0]);
    }
}
