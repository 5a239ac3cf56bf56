using System.Net;
using System.Text.Json;
using Pigeon.Api;
using Pigeon.Protocol.Delivery;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Client;

/// <summary>
/// Sync between one's own devices over real processes (issue 16, point 5): what Alice does on one of
/// her two devices (invite, accept, decline, verify, a timer, remove, block, unblock, read, a group) is
/// what her other device shows after its next sync, and removing a device rotates the delivery key so
/// the removed device's copy no longer deposits to her.
/// </summary>
public sealed class DeviceSyncTests
{
    private static readonly Dictionary<string, string> OneAddressForEveryone = new() { ["Pigeon__Limits__AnonymousRequestsPerMinute"] = "100000" };

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task WhatOneDeviceDoesWithContactsReadStateAndGroups_TheOtherDeviceDoesToo()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Cancellation);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        await cluster.StartSiloAsync(Cancellation);
        var gateway = await cluster.StartGatewayAsync(Cancellation, OneAddressForEveryone);
        using var cli = new CliHarness();
        var (aliceId, bobId) = await EndToEndTests.InitContactsAsync(cli, gateway);
        var ids = await GroupTests.InitAsync(cli, gateway, "carol", "dave");
        var (carolId, daveId) = (ids["carol"], ids["dave"]);
        TestContext.Current.TestOutputHelper?.WriteLine($"alice {aliceId} bob {bobId} carol {carolId} dave {daveId}");
        await DeviceTests.LinkAsync(cli, gateway, "alice", "alice2");

        // An invitation from one device: the other has Carol as invited, and takes her acceptance.
        await cli.OkAsync("alice", "invite", carolId);
        Assert.Contains("Another of your devices updated the contact", await SyncAsync(cli, "alice2"), StringComparison.Ordinal);
        Assert.Equal("invited", Contact(await cli.OkAsync("alice2", "--json", "contacts"), carolId).GetProperty("state").GetString());
        await cli.OkAsync("carol", "sync", "--wait", "0");
        await cli.OkAsync("carol", "accept", aliceId);
        Assert.Contains("Carol", await SyncAsync(cli, "alice2"), StringComparison.Ordinal);
        Assert.Equal("accepted", Contact(await cli.OkAsync("alice2", "--json", "contacts"), carolId).GetProperty("state").GetString());
        await cli.OkAsync("alice2", "send", "Carol", "from the laptop");
        Assert.Contains("Alice: from the laptop", await cli.OkAsync("carol", "sync", "--wait", "0"), StringComparison.Ordinal);
        await SyncAsync(cli, "alice");

        // A request reaches both; accepted on the second, it is no longer pending on the first.
        await cli.OkAsync("dave", "invite", aliceId);
        await SyncAsync(cli, "alice");
        Assert.Contains(daveId, await cli.OkAsync("alice", "requests"), StringComparison.Ordinal);
        await SyncAsync(cli, "alice2");
        await cli.OkAsync("alice2", "accept", "Dave");
        await SyncAsync(cli, "alice");
        Assert.Contains("No pending requests", await cli.OkAsync("alice", "requests"), StringComparison.Ordinal);
        Assert.Equal("accepted", Contact(await cli.OkAsync("alice", "--json", "contacts"), daveId).GetProperty("state").GetString());

        // Verified and a timer on the first device; the second shows both, with the timer in the history.
        await cli.OkAsync("alice", "verify", "Bob", "--confirm");
        await cli.OkAsync("alice", "timer", "Bob", "1h");
        await SyncAsync(cli, "alice2");
        var bob = Contact(await cli.OkAsync("alice2", "--json", "contacts"), bobId);
        Assert.Equal((true, 3600L), (bob.GetProperty("verified").GetBoolean(), bob.GetProperty("timerSeconds").GetInt64()));
        Assert.Contains("1h", await cli.OkAsync("alice2", "history", "Bob"), StringComparison.Ordinal);
        await cli.OkAsync("alice", "timer", "Bob", "off");

        // Read on one device, read on the other.
        await cli.OkAsync("bob", "sync", "--wait", "0");
        await cli.OkAsync("bob", "send", "Alice", "read me once");
        await SyncAsync(cli, "alice");
        await SyncAsync(cli, "alice2");
        Assert.Equal(1, await UnreadFromAsync(cli, "alice2", bobId));
        using (var first = GroupTests.OpenProfile(cli, "alice"))
        {
            Assert.Single(await first.Contacts.MarkReadAsync(await first.Contacts.ResolveAsync("Bob"), Cancellation));
        }

        await SyncAsync(cli, "alice2");
        Assert.Equal(0, await UnreadFromAsync(cli, "alice2", bobId));

        // Blocked on the second, unblocked on the first: both end up agreeing each time.
        await cli.OkAsync("alice2", "block", "Dave");
        await SyncAsync(cli, "alice");
        Assert.Contains(daveId, await cli.OkAsync("alice", "blocked"), StringComparison.Ordinal);
        Assert.DoesNotContain(daveId, await cli.OkAsync("alice", "contacts"), StringComparison.Ordinal);
        await cli.OkAsync("alice", "unblock", daveId);
        await SyncAsync(cli, "alice2");
        Assert.DoesNotContain(daveId, await cli.OkAsync("alice2", "blocked"), StringComparison.Ordinal);

        // A group made on the first device is the second's too: it can write to it.
        await cli.OkAsync("alice", "group", "create", "Trip", "Bob", "Carol");
        await SyncAsync(cli, "alice2");
        Assert.Contains("Trip", await cli.OkAsync("alice2", "groups"), StringComparison.Ordinal);
        await cli.OkAsync("bob", "sync", "--wait", "0");
        await cli.OkAsync("alice2", "send", "Trip", "group from the laptop");
        Assert.Contains("group from the laptop", await cli.OkAsync("bob", "sync", "--wait", "0"), StringComparison.Ordinal);
        Assert.Contains("sent from another of your devices to Trip: group from the laptop", await SyncAsync(cli, "alice"), StringComparison.Ordinal);

        // Removed on the first device (which rotates the delivery key): gone on the second, which has the new key.
        var keyBefore = await OwnDeliveryKeyAsync(cli, "alice");
        await cli.OkAsync("alice", "remove", "Carol");
        await SyncAsync(cli, "alice2");
        Assert.DoesNotContain(carolId, await cli.OkAsync("alice2", "contacts"), StringComparison.Ordinal);
        var keyAfter = await OwnDeliveryKeyAsync(cli, "alice");
        Assert.Equal(keyBefore.Epoch + 1, keyAfter.Epoch);
        Assert.Equal(keyAfter.ToBytes(), (await OwnDeliveryKeyAsync(cli, "alice2")).ToBytes());

        // A removed device held the delivery key; after the removal its copy no longer deposits sealed.
        var heldByTheRemoved = await OwnDeliveryKeyAsync(cli, "alice2");
        await cli.OkAsync("alice", "devices", "remove", "2");
        Assert.Equal(heldByTheRemoved.Epoch + 1, (await OwnDeliveryKeyAsync(cli, "alice")).Epoch);
        using var http = new HttpClient { BaseAddress = gateway.BaseAddress };
        using var anonymous = new PigeonApiClient(http);
        var refused = await Assert.ThrowsAsync<PigeonApiException>(() => anonymous.DepositSealedAsync(
            [new SealedEnvelope(aliceId, heldByTheRemoved.ToBytes(), Guid.NewGuid(), new byte[64])], Cancellation));
        Assert.Equal((HttpStatusCode.Unauthorized, ProblemTypes.DeliveryRefused), (refused.Status, refused.Type));
        await cli.OkAsync("bob", "sync", "--wait", "0");
        await cli.OkAsync("bob", "send", "Alice", "after the rotation");
        Assert.Contains("Bob: after the rotation", await SyncAsync(cli, "alice"), StringComparison.Ordinal);
    }

    // A sync on one of Alice's devices: nothing in it may fail to decrypt or be refused.
    private static async Task<string> SyncAsync(CliHarness cli, string profile)
    {
        var sync = await cli.RunAsync(profile, "sync", "--wait", "0");
        Assert.True(sync.ExitCode == 0 && sync.Error.Length == 0, sync.ToString());
        return sync.Output;
    }

    private static JsonElement Contact(string contactsJson, string accountId) =>
        JsonDocument.Parse(contactsJson).RootElement.EnumerateArray().Single(c => c.GetProperty("accountId").GetString() == accountId);

    private static async Task<int> UnreadFromAsync(CliHarness cli, string profile, string accountId)
    {
        using var session = GroupTests.OpenProfile(cli, profile);
        return (await session.Contacts.UnreadCountsAsync()).GetValueOrDefault(accountId);
    }

    private static async Task<DeliveryKey> OwnDeliveryKeyAsync(CliHarness cli, string profile)
    {
        using var session = GroupTests.OpenProfile(cli, profile);
        return await session.WithStoreAsync(database => database.DeliveryKeys.Load(session.Profile.AccountId)!);
    }
}
