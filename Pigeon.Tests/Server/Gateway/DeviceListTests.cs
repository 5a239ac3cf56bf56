using System.Net;
using Pigeon.Api;
using Pigeon.Protocol.Devices;
using Pigeon.Protocol.Identity;
using Pigeon.Tests.Grains;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Gateway;

/// <summary>
/// Signed device lists through the API (issue 16, server side): the account grain stores only a list
/// the account's identity signed, with a growing version, and serves it to anyone signed in, who can
/// verify it; a forged, stale or oversized list is refused with a problem and changes nothing.
/// </summary>
[Collection(PigeonClusterCollection.Name)]
public sealed class DeviceListTests(PigeonClusterFixture fixture)
{
    private static readonly DateTimeOffset Day = new(2026, 12, 2, 0, 0, 0, TimeSpan.Zero);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static DeviceEntry Entry(uint id, DateTimeOffset addedAt) => new(id, addedAt, DeviceKeyPair.Generate().PublicKey);

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task ASignedList_IsStored_AndServedAsSigned_ForTheReaderToVerify(ApiMode mode)
    {
        using var http = fixture.Api(mode).CreateClient();
        var bob = await ApiClient.RegisterAndLoginAsync(http);
        var alice = await ApiClient.RegisterAndLoginAsync(http);
        var list = new DeviceList(bob.AccountId, 1, [Entry(1, Day)]).With(Entry(2, Day.AddHours(1)));
        using var asBob = ApiClient.As(http, bob);
        using var asAlice = ApiClient.As(http, alice);

        var missing = await Assert.ThrowsAsync<PigeonApiException>(() => asAlice.FetchDeviceListAsync(bob.AccountId, Ct));
        await asBob.SetDeviceListAsync(Record(list, bob.Identity.SignDeviceList(list)), Ct);
        var served = await asAlice.FetchDeviceListAsync(bob.AccountId, Ct);

        Assert.Equal(ProblemTypes.NotFound, missing.Type);
        var read = new DeviceList(bob.AccountId, served.Version, served.Devices.Select(d => new DeviceEntry(d.DeviceId, d.AddedAt, d.SigningKey)));
        Assert.True(read.Verify(bob.Identity.PublicIdentity, served.Signature));
        Assert.Equal([1u, 2u], read.Devices.Select(d => d.DeviceId));
        // Each device's own key comes back as listed.
        Assert.Equal(list.Devices.Select(d => Convert.ToHexString(d.SigningKey)), read.Devices.Select(d => Convert.ToHexString(d.SigningKey)));
    }

    [Fact]
    public async Task AForgedList_AStaleOne_AndOneWithTooManyDevices_AreRefused_AndTheStoredListStays()
    {
        using var http = fixture.Gateway.CreateClient();
        var bob = await ApiClient.RegisterAndLoginAsync(http);
        using var asBob = ApiClient.As(http, bob);
        var first = new DeviceList(bob.AccountId, 2, [Entry(1, Day)]);
        await asBob.SetDeviceListAsync(Record(first, bob.Identity.SignDeviceList(first)), Ct);

        // Someone with Bob's token but not his identity key (or the server) adds a device.
        using var other = IdentityKeyPair.Generate();
        var added = first.With(Entry(9, Day));
        var forged = await Assert.ThrowsAsync<PigeonApiException>(() =>
            asBob.SetDeviceListAsync(Record(added, other.SignDeviceList(new DeviceList(other.AccountId, added.Version, added.Devices))), Ct));
        var reused = await Assert.ThrowsAsync<PigeonApiException>(() => asBob.SetDeviceListAsync(Record(added, bob.Identity.SignDeviceList(first)), Ct));
        // A correctly signed but older list (a rollback), and the same version again.
        var older = new DeviceList(bob.AccountId, 1, [Entry(1, Day), Entry(5, Day)]);
        var stale = await Assert.ThrowsAsync<PigeonApiException>(() => asBob.SetDeviceListAsync(Record(older, bob.Identity.SignDeviceList(older)), Ct));
        var again = await Assert.ThrowsAsync<PigeonApiException>(() => asBob.SetDeviceListAsync(Record(first, bob.Identity.SignDeviceList(first)), Ct));
        var many = new DeviceList(bob.AccountId, 3, Enumerable.Range(1, DeviceList.DefaultMaxDevices + 1).Select(i => Entry((uint)i, Day)));
        var tooMany = await Assert.ThrowsAsync<PigeonApiException>(() => asBob.SetDeviceListAsync(Record(many, bob.Identity.SignDeviceList(many)), Ct));
        var repeated = await Assert.ThrowsAsync<PigeonApiException>(() => asBob.SetDeviceListAsync(
            new DeviceListRecord(4, [new DeviceRecord(1, Day, new byte[32]), new DeviceRecord(1, Day, new byte[32])], new byte[ApiLimits.SignatureBytes]), Ct));
        var shortKey = await Assert.ThrowsAsync<PigeonApiException>(() => asBob.SetDeviceListAsync(
            new DeviceListRecord(4, [new DeviceRecord(1, Day, new byte[31])], new byte[ApiLimits.SignatureBytes]), Ct));

        Assert.Equal((ProblemTypes.KeyMismatch, ProblemTypes.KeyMismatch), (forged.Type, reused.Type));
        Assert.Equal((ProblemTypes.DeviceListStale, ProblemTypes.DeviceListStale), (stale.Type, again.Type));
        Assert.Equal((ProblemTypes.InvalidRequest, ProblemTypes.InvalidRequest), (tooMany.Type, repeated.Type));
        Assert.Equal((HttpStatusCode.BadRequest, ProblemTypes.InvalidRequest), (shortKey.Status, shortKey.Type));
        Assert.Contains("signingKey", shortKey.Detail, StringComparison.Ordinal);
        var stored = await asBob.FetchDeviceListAsync(bob.AccountId, Ct);
        Assert.Equal(2ul, stored.Version);
        Assert.Equal([1u], stored.Devices.Select(d => d.DeviceId));
    }

    [Fact]
    public async Task AListWithoutADevice_RemovesIt_AndItsIdIsNeverListedAgain()
    {
        using var http = fixture.Gateway.CreateClient();
        var bob = await ApiClient.RegisterAndLoginAsync(http);
        var one = DeviceKit.NewDevice(bob, 1);
        var two = DeviceKit.NewDevice(bob, 2);
        await DeviceKit.PublishAsync(http, bob, 1, one, two);
        await DeviceKit.PublishAsync(http, bob, 2, one);

        // Device 2 again, even with a new key: ids are not reused.
        var again = await Assert.ThrowsAsync<PigeonApiException>(() => DeviceKit.PublishAsync(http, bob, 3, one, DeviceKit.NewDevice(bob, 2)));
        await DeviceKit.PublishAsync(http, bob, 4, one, DeviceKit.NewDevice(bob, 3));

        Assert.Equal((HttpStatusCode.BadRequest, ProblemTypes.InvalidRequest), (again.Status, again.Type));
        Assert.Contains("not reused", again.Detail, StringComparison.Ordinal);
        using var asBob = ApiClient.As(http, bob);
        var stored = await asBob.FetchDeviceListAsync(bob.AccountId, Ct);
        Assert.Equal(4ul, stored.Version);
        Assert.Equal([1u, 3u], stored.Devices.Select(d => d.DeviceId));
    }

    private static DeviceListRecord Record(DeviceList list, byte[] signature) =>
        new(list.Version, [.. list.Devices.Select(d => new DeviceRecord(d.DeviceId, d.AddedAt, d.SigningKey))], signature);
}
