using System.Net;
using Pigeon.Api;
using Pigeon.Grains.Abstractions.Mailboxes;
using Pigeon.Messaging;
using Pigeon.Protocol.Delivery;
using Pigeon.Tests.Gateway;
using Pigeon.Tests.Grains;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Devices;

/// <summary>
/// Several devices per account on the server (issue 16): tokens name the device, a device signs in with
/// its own listed key (the identity key only before any list), and a removed device is refused
/// whatever token it still holds.
/// </summary>
[Collection(PigeonClusterCollection.Name)]
public sealed class DeviceAuthTests(PigeonClusterFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task Tokens_NameTheDevice_AndEachDeviceReadsOnlyItsOwnMailbox(ApiMode mode)
    {
        using var http = fixture.Api(mode).CreateClient();
        var alice = await ApiClient.RegisterAndLoginAsync(http);
        var bob = await DeviceKit.AccountWithDevicesAsync(http, 2);
        var id = Guid.NewGuid();

        var receipts = await ApiClient.DepositAsync(http, alice,
            new OutgoingEnvelope(bob[0].AccountId, id, [1], DeviceId: 1), new OutgoingEnvelope(bob[0].AccountId, id, [2], DeviceId: 2));
        var first = await ApiClient.ReceiveAsync(http, bob[0].User, Ct);
        var second = await ApiClient.ReceiveAsync(http, bob[1].User, Ct);

        Assert.Equal(["v2", bob[0].AccountId, "2"], bob[1].User.Token!.Split('.')[..3]);
        Assert.Equal(["v2", alice.AccountId, "1"], alice.Token!.Split('.')[..3]);
        Assert.Equal([1u, 2u], receipts.Receipts.Select(r => r.DeviceId));
        Assert.Equal([1], Assert.Single(first.Envelopes).Payload);
        Assert.Equal([2], Assert.Single(second.Envelopes).Payload);
        // Device 1 acknowledging the id leaves device 2's copy alone.
        Assert.Equal(1, await ApiClient.AckAsync(http, bob[0].User, id));
        Assert.Single((await ApiClient.ReceiveAsync(http, bob[1].User, Ct)).Envelopes);
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task SignIn_WithTheIdentityKey_IsRefusedOnceAListExists_AndTheListedDeviceKeyIsAccepted(ApiMode mode)
    {
        using var http = fixture.Api(mode).CreateClient();
        var bob = await ApiClient.RegisterAndLoginAsync(http);
        var one = DeviceKit.NewDevice(bob, 1);
        var two = DeviceKit.NewDevice(bob, 2);
        // Before a list only device 1 signs in, with the identity key.
        var secondBeforeList = await Assert.ThrowsAsync<PigeonApiException>(() =>
            new PigeonApiClient(http, bob.Identity.Credentials() with { DeviceId = 2 }).SignInAsync(Ct));
        await DeviceKit.PublishAsync(http, bob, 1, one, two);

        var identity = await Assert.ThrowsAsync<PigeonApiException>(() => ApiClient.LoginAsync(http, bob));
        var identityForTwo = await Assert.ThrowsAsync<PigeonApiException>(() =>
            new PigeonApiClient(http, bob.Identity.Credentials() with { DeviceId = 2 }).SignInAsync(Ct));
        var wrongKey = await Assert.ThrowsAsync<PigeonApiException>(() => DeviceKit.SignInAsync(http, new TestDevice(bob, 2, one.Key)));
        var neverListed = await Assert.ThrowsAsync<PigeonApiException>(() => DeviceKit.SignInAsync(http, DeviceKit.NewDevice(bob, 9)));
        await DeviceKit.SignInAsync(http, one);
        await DeviceKit.SignInAsync(http, two);

        foreach (var refused in new[] { secondBeforeList, identity, identityForTwo, wrongKey, neverListed })
        {
            Assert.Equal((HttpStatusCode.Unauthorized, ProblemTypes.ChallengeFailed), (refused.Status, refused.Type));
        }

        using var asTwo = ApiClient.As(http, two.User);
        Assert.Empty((await asTwo.ReceiveAsync(0, TimeSpan.Zero, ct: Ct)).Envelopes);
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task ARemovedDevice_CannotSignIn_AndItsStillValidToken_IsRefusedEverywhere(ApiMode mode)
    {
        using var http = fixture.Api(mode).CreateClient();
        var alice = await ApiClient.RegisterAndLoginAsync(http);
        var bob = await DeviceKit.AccountWithDevicesAsync(http, 2);
        var stale = bob[1].User;
        // Works before the removal, with the token it keeps afterwards.
        await ApiClient.UploadPrekeysAsync(http, stale, 2);

        await DeviceKit.PublishAsync(http, bob[0].User, 2, bob[0]);

        var signIn = await Assert.ThrowsAsync<PigeonApiException>(() => DeviceKit.SignInAsync(http, new TestDevice(bob[0].Account, 2, bob[1].Key)));
        using var asStale = ApiClient.As(http, stale);
        var refusals = new List<PigeonApiException>
        {
            signIn,
            await Assert.ThrowsAsync<PigeonApiException>(() => asStale.ReceiveAsync(0, TimeSpan.Zero, ct: Ct)),
            await Assert.ThrowsAsync<PigeonApiException>(() => asStale.ReceiveAsync(0, TimeSpan.Zero, [Guid.NewGuid()], ct: Ct)),
            await Assert.ThrowsAsync<PigeonApiException>(() => asStale.AckAsync([Guid.NewGuid()], Ct)),
            await Assert.ThrowsAsync<PigeonApiException>(() => asStale.DepositAsync([new OutgoingEnvelope(alice.AccountId, Guid.NewGuid(), [1])], Ct)),
            await Assert.ThrowsAsync<PigeonApiException>(() => ApiClient.UploadPrekeysAsync(http, stale, 1)),
            await Assert.ThrowsAsync<PigeonApiException>(() => asStale.CountPrekeysAsync(Ct)),
        };

        Assert.All(refusals, r => Assert.Equal((HttpStatusCode.Forbidden, ProblemTypes.DeviceRemoved), (r.Status, r.Type)));
        // Nothing of the refused deposit reached Alice.
        Assert.Empty((await ApiClient.ReceiveAsync(http, alice, Ct)).Envelopes);
        // The device still listed goes on.
        using var asOne = ApiClient.As(http, bob[0].User);
        Assert.Empty((await asOne.ReceiveAsync(0, TimeSpan.Zero, ct: Ct)).Envelopes);
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task ARemovedDevice_LeavesNothingBehind_ItsMailboxAndPrekeysAreDeleted(ApiMode mode)
    {
        fixture.RequirePostgres();
        var api = fixture.Api(mode);
        using var http = api.CreateClient();
        var alice = await ApiClient.RegisterAndLoginAsync(http);
        var bob = await DeviceKit.AccountWithDevicesAsync(http, 2);
        await ApiClient.UploadPrekeysAsync(http, bob[0].User, 3);
        await ApiClient.UploadPrekeysAsync(http, bob[1].User, 4);
        var id = Guid.NewGuid();
        await ApiClient.DepositAsync(http, alice,
            new OutgoingEnvelope(bob[0].AccountId, id, [1], DeviceId: 1), new OutgoingEnvelope(bob[0].AccountId, id, [2], DeviceId: 2));
        // An acknowledged id is remembered per mailbox too; it goes with the rest.
        var acknowledged = Guid.NewGuid();
        await ApiClient.DepositAsync(http, alice,
            new OutgoingEnvelope(bob[0].AccountId, acknowledged, [3], DeviceId: 1), new OutgoingEnvelope(bob[0].AccountId, acknowledged, [3], DeviceId: 2));
        await ApiClient.AckAsync(http, bob[1].User, acknowledged);
        var removed = MailboxKeys.Of(bob[0].AccountId, 2);
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM pigeon.envelopes WHERE mailbox_id = @key", removed));

        await DeviceKit.PublishAsync(http, bob[0].User, 2, bob[0]);

        Assert.Equal(0, await CountAsync("SELECT count(*) FROM pigeon.envelopes WHERE mailbox_id = @key", removed));
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM pigeon.acknowledged_envelopes WHERE mailbox_id = @key", removed));
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM pigeon.one_time_prekeys WHERE account_id = @key AND device_id = 2", bob[0].AccountId));
        Assert.Equal(6, await CountAsync("SELECT count(*) FROM pigeon.one_time_prekeys WHERE account_id = @key AND device_id = 1", bob[0].AccountId));
        Assert.Equal(0, (await api.Grains.GetGrain<IMailboxGrain>(removed).GetStatusAsync()).Envelopes);
        using var asAlice = ApiClient.As(http, alice);
        var bundle = await Assert.ThrowsAsync<PigeonApiException>(() => asAlice.FetchBundleAsync(bob[0].AccountId, 2, Ct));
        Assert.Equal(ProblemTypes.PrekeysUnavailable, bundle.Type);
        Assert.NotNull((await asAlice.FetchBundleAsync(bob[0].AccountId, 1, Ct)).OneTimePrekey);
        // The device still listed keeps its envelopes.
        Assert.Equal(2, (await ApiClient.ReceiveAsync(http, bob[0].User, Ct)).Envelopes.Count);
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task Bundles_AndCounts_ArePerDevice(ApiMode mode)
    {
        using var http = fixture.Api(mode).CreateClient();
        var alice = await ApiClient.RegisterAndLoginAsync(http);
        var bob = await DeviceKit.AccountWithDevicesAsync(http, 3);
        var one = await ApiClient.UploadPrekeysAsync(http, bob[0].User, 3);
        var two = await ApiClient.UploadPrekeysAsync(http, bob[1].User, 5);
        using var asAlice = ApiClient.As(http, alice);

        var bundle = await asAlice.FetchBundleAsync(bob[0].AccountId, 2, Ct);
        using var asOne = ApiClient.As(http, bob[0].User);
        using var asTwo = ApiClient.As(http, bob[1].User);
        using var asThree = ApiClient.As(http, bob[2].User);
        var oneAfter = await asOne.CountPrekeysAsync(Ct);
        var twoAfter = await asTwo.CountPrekeysAsync(Ct);
        var three = await asThree.CountPrekeysAsync(Ct);
        var noKeys = await Assert.ThrowsAsync<PigeonApiException>(() => asAlice.FetchBundleAsync(bob[0].AccountId, 3, Ct));
        var deviceZero = await Assert.ThrowsAsync<PigeonApiException>(() => asAlice.FetchBundleAsync(bob[0].AccountId, 0, Ct));

        Assert.Equal((3, 5), (one.OneTimePrekeys, two.OneTimePrekeys));
        Assert.Equal(bob[0].AccountId, bundle.AccountId);
        Assert.NotNull(bundle.OneTimePrekey);
        Assert.Equal((3, 3, 4, 4), (oneAfter.OneTimePrekeys, oneAfter.OneTimeKemPrekeys, twoAfter.OneTimePrekeys, twoAfter.OneTimeKemPrekeys));
        Assert.Equal((0, false), (three.OneTimePrekeys, three.HasSignedPrekey));
        Assert.Equal((HttpStatusCode.Conflict, ProblemTypes.PrekeysUnavailable), (noKeys.Status, noKeys.Type));
        Assert.Equal(HttpStatusCode.BadRequest, deviceZero.Status);
    }

    [Fact]
    public async Task SealedDeposits_AreCheckedAgainstTheList_Too()
    {
        using var http = fixture.Gateway.CreateClient();
        var bob = await DeviceKit.AccountWithDevicesAsync(http, 2);
        var key = DeliveryKey.Generate(1);
        using (var asBob = ApiClient.As(http, bob[0].User))
        {
            await asBob.SetDeliveryKeyVerifierAsync(key.Epoch, key.Verifier(bob[0].AccountId), Ct);
        }

        using var anonymous = new PigeonApiClient(http);
        var id = Guid.NewGuid();
        var partial = await Assert.ThrowsAsync<PigeonApiException>(() =>
            anonymous.DepositSealedAsync([new SealedEnvelope(bob[0].AccountId, key.ToBytes(), id, [1], DeviceId: 2)], Ct));
        var wrongKey = await Assert.ThrowsAsync<PigeonApiException>(() =>
            anonymous.DepositSealedAsync([new SealedEnvelope(bob[0].AccountId, DeliveryKey.Generate(1).ToBytes(), id, [1], DeviceId: 7)], Ct));
        var stored = await anonymous.DepositSealedAsync(
            [new SealedEnvelope(bob[0].AccountId, key.ToBytes(), id, [1], DeviceId: 1), new SealedEnvelope(bob[0].AccountId, key.ToBytes(), id, [2], DeviceId: 2)], Ct);

        Assert.Equal((HttpStatusCode.Conflict, ProblemTypes.DeviceMismatch), (partial.Status, partial.Type));
        var mismatch = Assert.Single(partial.Devices);
        Assert.Equal(bob[0].AccountId, mismatch.AccountId);
        Assert.Equal([1u], mismatch.Missing);
        // The delivery key is checked first: a wrong one tells nothing of the account's devices.
        Assert.Equal((HttpStatusCode.Unauthorized, ProblemTypes.DeliveryRefused), (wrongKey.Status, wrongKey.Type));
        Assert.Empty(wrongKey.Devices);
        Assert.Equal([(1u, id), (2u, id)], stored.Receipts.Select(r => (r.DeviceId, r.MessageId)));
        Assert.Equal([2], Assert.Single((await ApiClient.ReceiveAsync(http, bob[1].User, Ct)).Envelopes).Payload);
    }

    private async Task<long> CountAsync(string sql, string key)
    {
        await using var command = fixture.DataSource.CreateCommand(sql);
        command.Parameters.AddWithValue("key", key);
        return (long)(await command.ExecuteScalarAsync(Ct))!;
    }
}
