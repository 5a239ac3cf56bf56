using System.Text.Json;
using Pigeon.Client.Cli;
using Pigeon.Messaging.Delivery;
using Pigeon.Messaging.Groups;
using Pigeon.Messaging.Profiles;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Client;

/// <summary>
/// Groups over real processes (ADR 0004): four profiles, a real silo and gateway on a real PostgreSQL,
/// the commands run as the <c>pigeon</c> executable would run them. Alice is everyone's contact; the
/// others are not each other's, so they reach each other from the group.
/// </summary>
public sealed class GroupTests
{
    // Every profile of these tests signs in from 127.0.0.1, each command anew: the per-address limit on
    // sign-ins (60 a minute) is for one person's address, and not what these tests are about.
    private static readonly Dictionary<string, string> OneAddressForEveryone = new() { ["Pigeon__Limits__AnonymousRequestsPerMinute"] = "100000" };

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AGroup_IsCreatedTalkedInChangedAndLeft_AndEveryMemberEndsOnTheSameState()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Cancellation);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        var silo = await cluster.StartSiloAsync(Cancellation);
        var gateway = await cluster.StartGatewayAsync(Cancellation, OneAddressForEveryone);
        using var cli = new CliHarness();
        var ids = await InitAsync(cli, gateway, "alice", "bob", "carol", "dave");
        foreach (var other in new[] { "bob", "carol", "dave" })
        {
            await cli.OkAsync("alice", "invite", ids[other]);
            await cli.OkAsync(other, "sync", "--wait", "0");
            await cli.OkAsync(other, "accept", ids["alice"]);
        }

        await cli.OkAsync("alice", "sync", "--wait", "0");
        Assert.Contains("Created 'Trip'", await cli.OkAsync("alice", "group", "create", "Trip", "Bob", ids["carol"]), StringComparison.Ordinal);
        Assert.Contains("In Trip: Alice created 'Trip'.", await cli.OkAsync("bob", "sync", "--wait", "0"), StringComparison.Ordinal);
        await cli.OkAsync("carol", "sync", "--wait", "0");

        // Create, send, receive in order; Carol and Bob, not each other's contacts, talk from the group.
        await cli.OkAsync("alice", "send", "Trip", "first");
        await cli.OkAsync("alice", "send", "trip", "second");
        foreach (var member in new[] { "bob", "carol" })
        {
            var synced = await cli.OkAsync(member, "sync", "--wait", "0");
            Assert.True(synced.IndexOf("Alice in Trip: first", StringComparison.Ordinal) is var first and >= 0
                && first < synced.IndexOf("Alice in Trip: second", StringComparison.Ordinal), synced);
        }

        await cli.OkAsync("carol", "send", "Trip", "carol here");
        Assert.Contains("Carol in Trip: carol here", await cli.OkAsync("bob", "sync", "--wait", "0"), StringComparison.Ordinal);
        Assert.Contains("Carol in Trip: carol here", await cli.OkAsync("alice", "sync", "--wait", "0"), StringComparison.Ordinal);

        // Added: Dave sees from then on, not before.
        await cli.OkAsync("alice", "group", "add", "Trip", "Dave");
        await cli.OkAsync("alice", "send", "Trip", "welcome dave");
        var daves = await cli.OkAsync("dave", "sync", "--wait", "0");
        Assert.Contains("Alice in Trip: welcome dave", daves, StringComparison.Ordinal);
        Assert.DoesNotContain("first", daves, StringComparison.Ordinal);

        // Removed: Carol sees nothing more, and what she sends is refused.
        await cli.OkAsync("alice", "group", "remove", "Trip", "Carol");
        await cli.OkAsync("alice", "send", "Trip", "carol is gone");
        var carols = await cli.OkAsync("carol", "sync", "--wait", "0");
        Assert.Contains("Alice removed you", carols, StringComparison.Ordinal);
        Assert.DoesNotContain("carol is gone", carols, StringComparison.Ordinal);
        var refused = await cli.RunAsync("carol", "send", "Trip", "let me back");
        Assert.Equal((1, true), (refused.ExitCode, refused.Error.Contains("not a member", StringComparison.Ordinal)));

        // Rename, and a non-admin's rename refused before it leaves Bob's client.
        await cli.OkAsync("alice", "group", "rename", "Trip", "Journey");
        await cli.OkAsync("bob", "sync", "--wait", "0");
        await cli.OkAsync("dave", "sync", "--wait", "0");
        Assert.Contains("Journey", await cli.OkAsync("bob", "groups"), StringComparison.Ordinal);
        var notAdmin = await cli.RunAsync("bob", "group", "rename", "Journey", "Bob's");
        Assert.Equal((1, true), (notAdmin.ExitCode, notAdmin.Error.Contains("only its admins", StringComparison.Ordinal)));

        // Two admins change version n at once; every member ends on the same version.
        await cli.OkAsync("alice", "group", "promote", "Journey", "Bob");
        await cli.OkAsync("bob", "sync", "--wait", "0");
        await cli.OkAsync("dave", "sync", "--wait", "0");
        await cli.OkAsync("alice", "group", "rename", "Journey", "Alice's journey");
        await cli.OkAsync("bob", "group", "add", "Journey", ids["carol"]);
        foreach (var member in new[] { "alice", "bob", "dave", "carol" })
        {
            await cli.OkAsync(member, "sync", "--wait", "0");
        }

        var states = new List<string>();
        foreach (var member in new[] { "alice", "bob", "dave" })
        {
            states.Add(JsonDocument.Parse(await cli.OkAsync(member, "--json", "groups")).RootElement[0].GetProperty("group").GetRawText());
        }

        Assert.Equal(3, states.Count);
        Assert.All(states, s => Assert.Equal(states[0], s));
        Assert.Contains("\"version\":6", states[0], StringComparison.Ordinal);

        // Dave leaves; the others are told.
        await cli.OkAsync("dave", "group", "leave", (await GroupIdAsync(cli, "dave"))[..8]);
        Assert.Contains("Dave left", await cli.OkAsync("alice", "sync", "--wait", "0"), StringComparison.Ordinal);

        // A group message survives a silo SIGKILL like a 1:1 message: it was committed before the 2xx.
        await cli.OkAsync("alice", "send", await GroupIdAsync(cli, "alice"), "before the kill");
        await silo.Process.KillAsync();
        await cluster.StartSiloAsync(Cancellation);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        string bobs;
        while (true)
        {
            var run = await cli.RunAsync("bob", "sync", "--wait", "0");
            bobs = run.Output;
            if (run.ExitCode == 0 && bobs.Contains("before the kill", StringComparison.Ordinal) || DateTime.UtcNow > deadline)
            {
                break;
            }

            await Task.Delay(500, Cancellation);
        }

        Assert.Contains("Alice in ", bobs, StringComparison.Ordinal);
        Assert.Contains("before the kill", bobs, StringComparison.Ordinal);
        Assert.DoesNotContain("before the kill", silo.Process.Output + gateway.Process.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AForgedUpdateFromANonMember_IsRefusedAndReported_AndAnAmbiguousTitleListsTheCandidates()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Cancellation);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        await cluster.StartSiloAsync(Cancellation);
        var gateway = await cluster.StartGatewayAsync(Cancellation, OneAddressForEveryone);
        using var cli = new CliHarness();
        var ids = await InitAsync(cli, gateway, "alice", "bob", "mallory");
        foreach (var other in new[] { "bob", "mallory" })
        {
            await cli.OkAsync("alice", "invite", ids[other]);
            await cli.OkAsync(other, "sync", "--wait", "0");
            await cli.OkAsync(other, "accept", ids["alice"]);
        }

        await cli.OkAsync("alice", "sync", "--wait", "0");
        await cli.OkAsync("alice", "group", "create", "Trip", "Bob");
        await cli.OkAsync("bob", "sync", "--wait", "0");
        var group = JsonDocument.Parse(await cli.OkAsync("alice", "--json", "groups")).RootElement[0].GetProperty("group");
        var id = Convert.FromHexString(group.GetProperty("id").GetString()!);

        // Mallory, Alice's contact but no member, learnt the id and sends a version that adds her, as
        // her own; her client is bypassed (the real core, its checks skipped).
        using (var mallory = OpenProfile(cli, "mallory"))
        {
            var alice = (await mallory.Contacts.ResolveAsync("Alice")).AccountId;
            var aliceGroup = await LoadAsync(cli, "alice", id);
            var forged = GroupState.FromFields(id, "Mallory's", [.. aliceGroup.Members, new GroupMember(ids["mallory"], GroupRole.Admin)], false, 2,
                ids["mallory"], aliceGroup.Hash, 256);
            await mallory.Outbox.SendToManyAsync([alice],
                (_, now) => new InnerMessage(InnerMessageType.GroupUpdate, "Mallory", null, now, Group: GroupWire.From(forged)), null, Cancellation);
        }

        // Reported as a warning (stderr), and nothing changes.
        var aliceSync = await cli.RunAsync("alice", "sync", "--wait", "0");
        Assert.Equal(0, aliceSync.ExitCode);
        Assert.Contains($"a change to 'Trip' that was refused ({ids["mallory"]} is not a member of the group.)", aliceSync.Error, StringComparison.Ordinal);
        Assert.Contains("Trip", await cli.OkAsync("alice", "groups"), StringComparison.Ordinal);
        Assert.DoesNotContain("Mallory's", await cli.OkAsync("alice", "groups"), StringComparison.Ordinal);

        await cli.OkAsync("alice", "group", "create", "trip", "Bob");
        var ambiguous = await cli.RunAsync("alice", "send", "Trip", "which one?");
        Assert.Equal(1, ambiguous.ExitCode);
        Assert.Contains("names several conversations", ambiguous.Error, StringComparison.Ordinal);
        Assert.Contains(group.GetProperty("id").GetString()![..12], ambiguous.Error, StringComparison.Ordinal);
        var json = await cli.RunAsync("alice", "--json", "send", "Trip", "which one?");
        Assert.Equal(1, JsonDocument.Parse(json.Error).RootElement.GetProperty("exitCode").GetInt32());
    }

    internal static async Task<Dictionary<string, string>> InitAsync(CliHarness cli, GatewayHandle gateway, params string[] names)
    {
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            var display = char.ToUpperInvariant(name[0]) + name[1..];
            var init = JsonDocument.Parse(await cli.OkAsync(name, "--json", "init", "--server", gateway.BaseAddress.ToString(), "--name", display, "--no-passphrase"));
            ids[name] = init.RootElement.GetProperty("accountId").GetString()!;
        }

        return ids;
    }

    private static async Task<string> GroupIdAsync(CliHarness cli, string profile) =>
        JsonDocument.Parse(await cli.OkAsync(profile, "--json", "groups")).RootElement[0].GetProperty("group").GetProperty("id").GetString()!;

    internal static ProfileSession OpenProfile(CliHarness cli, string profile)
    {
        var context = new CliContext { Output = TextWriter.Null, Error = TextWriter.Null, GetEnvironmentVariable = _ => null };
        return ProfileSession.Open(context.Messaging, cli.ProfileDirectory(profile), () => null);
    }

    private static async Task<GroupState> LoadAsync(CliHarness cli, string profile, byte[] id)
    {
        using var session = OpenProfile(cli, profile);
        return await session.Groups.ResolveAsync(Convert.ToHexStringLower(id));
    }
}
