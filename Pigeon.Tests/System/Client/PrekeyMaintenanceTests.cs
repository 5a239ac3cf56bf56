using Pigeon.Protocol.Devices;
using Pigeon.Api;
using Pigeon.Messaging;
using Pigeon.Messaging.Prekeys;
using Pigeon.Messaging.Store;
using Pigeon.Protocol.Identity;
using Pigeon.Protocol.Prekeys;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Client;

/// <summary><c>sync</c> keeps the server stocked with prekeys, and renews an expired token on its own.</summary>
public sealed class PrekeyMaintenanceTests
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Sync_TopsUpOneTimePrekeys_RotatesTheSignedPrekey_AndRenewsAnExpiredToken()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Cancellation);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        // The stranger below drains faster than the default limits allow.
        await cluster.StartSiloAsync(Cancellation, new Dictionary<string, string> { ["Pigeon__Accounts__MaxOneTimePrekeyHandoutsPerHour"] = "1000" });
        var gateway = await cluster.StartGatewayAsync(Cancellation, new Dictionary<string, string>
        {
            ["Pigeon__Auth__TokenLifetime"] = "00:00:02",
            ["Pigeon__Limits__BundleFetchesPerMinute"] = "1000",
        });
        using var cli = new CliHarness();
        var server = gateway.BaseAddress.ToString();
        await cli.OkAsync("alice", "init", "--server", server, "--name", "Alice", "--no-passphrase");
        var aliceId = JsonAccountId(await cli.OkAsync("alice", "--json", "whoami"));

        // A stranger drains Alice's one-time prekeys by fetching bundles.
        using var stranger = IdentityKeyPair.Generate();
        using var strangerClient = new PigeonApiClient(gateway.CreateClient(), stranger.Credentials(), disposeHttpClient: true);
        await strangerClient.RegisterAsync(stranger.PublicIdentity.Registration(), Cancellation);
        var firstBundle = await strangerClient.FetchBundleAsync(aliceId, 1, Cancellation);
        for (var i = 0; i < 85; i++)
        {
            await strangerClient.FetchBundleAsync(aliceId, 1, Cancellation);
        }
        using var alice = LoadDeviceKey(cli, "alice");
        using var aliceClient = new PigeonApiClient(gateway.CreateClient(), alice.Credentials(aliceId, 1), disposeHttpClient: true);
        Assert.Equal(PrekeyPolicy.Target - 86, (await aliceClient.CountPrekeysAsync(Cancellation)).OneTimePrekeys);

        // A week and a day later; the receive waits past the token's two-second life before the count.
        cli.Time = new ShiftedTime(TimeSpan.FromDays(8));
        cli.HttpBodies.Clear();
        await cli.OkAsync("alice", "sync", "--wait", "3");
        Assert.Equal(2, cli.HttpBodies.Count(b => b.StartsWith("POST", StringComparison.Ordinal) && b.Contains("/v1/auth/token", StringComparison.Ordinal)));

        var counts = await aliceClient.CountPrekeysAsync(Cancellation);
        Assert.Equal(PrekeyPolicy.Target, counts.OneTimePrekeys);
        Assert.True(counts.OneTimeKemPrekeys >= PrekeyPolicy.Target);
        // The 86 of each kind the stranger took are marked as handed out, not yet dropped.
        Assert.Equal(2 * 86, LoadPrekeys(cli, "alice").HandedOutOneTimePrekeyCount);
        var rotated = await strangerClient.FetchBundleAsync(aliceId, 1, Cancellation);
        Assert.NotEqual(firstBundle.SignedPrekey.Id, rotated.SignedPrekey.Id);
        rotated.ToBundle().Verify(aliceId);

        // The new signed prekey works: Bob invites Alice, Alice accepts.
        await cli.OkAsync("bob", "init", "--server", server, "--name", "Bob", "--no-passphrase");
        var bobId = JsonAccountId(await cli.OkAsync("bob", "--json", "whoami"));
        await cli.OkAsync("bob", "invite", aliceId);
        Assert.Contains("Contact request from Bob", await cli.OkAsync("alice", "sync", "--wait", "0"), StringComparison.Ordinal);
        await cli.OkAsync("alice", "accept", bobId);
        Assert.Contains("accepted", await cli.OkAsync("bob", "sync", "--wait", "0"), StringComparison.Ordinal);

        // Past the grace period their private halves are gone; what is left is what the server holds.
        cli.Time = new ShiftedTime(TimeSpan.FromDays(8) + PrekeyPolicy.HandedOutPrekeyGrace + TimeSpan.FromDays(1));
        await cli.OkAsync("alice", "sync", "--wait", "0");
        var pruned = LoadPrekeys(cli, "alice");
        var onServer = await aliceClient.CountPrekeysAsync(Cancellation);
        Assert.Equal(0, pruned.HandedOutOneTimePrekeyCount);
        Assert.Equal(onServer.OneTimePrekeys, pruned.OneTimePrekeyCount);
        Assert.Equal(onServer.OneTimeKemPrekeys, pruned.OneTimeMlKemPrekeyCount);
    }

    private static string JsonAccountId(string json) =>
        System.Text.Json.JsonDocument.Parse(json).RootElement.GetProperty("accountId").GetString()!;

    private static PrekeyStore LoadPrekeys(CliHarness cli, string profile)
    {
        using var store = ProfileDatabase.Open(cli.ProfileDirectory(profile), () => null);
        return store.Prekeys.Load();
    }

    private static DeviceKeyPair LoadDeviceKey(CliHarness cli, string profile)
    {
        using var store = ProfileDatabase.Open(cli.ProfileDirectory(profile), () => null);
        return store.Profile.LoadDeviceKey();
    }
}
