using System.Net;
using System.Text.Json;
using Pigeon.Api;
using Pigeon.Grains.Abstractions.Mailboxes;
using Pigeon.Tests.Gateway;
using Pigeon.Tests.Grains;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Devices;

/// <summary>
/// Deposits address devices (issue 16): a batch must address exactly each recipient's listed devices
/// (for the sender's own account, all but the sending device), or nothing of it is stored and the
/// problem names how each account differs: 409 for missing or never-seen devices, 410 for removed ones.
/// </summary>
[Collection(PigeonClusterCollection.Name)]
public sealed class DeviceDepositTests(PigeonClusterFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static OutgoingEnvelope To(TestUser recipient, uint device, Guid id, byte payload = 1) => new(recipient.AccountId, id, [payload], DeviceId: device);

    private static OutgoingEnvelope To(TestDevice recipient, Guid id, byte payload = 1) => To(recipient.Account, recipient.DeviceId, id, payload);

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task AMissingDevice_IsA409NamingIt_AndNothingOfTheBatchIsStored(ApiMode mode)
    {
        var api = fixture.Api(mode);
        using var http = api.CreateClient();
        var alice = await ApiClient.RegisterAndLoginAsync(http);
        var carol = await ApiClient.RegisterAndLoginAsync(http);
        var bob = await DeviceKit.AccountWithDevicesAsync(http, 3);
        var id = Guid.NewGuid();

        // Carol's part is right; Bob's lacks device 2.
        var refused = await Assert.ThrowsAsync<PigeonApiException>(() =>
            ApiClient.DepositAsync(http, alice, To(carol, 1, id), To(bob[0], id), To(bob[2], id)));

        Assert.Equal((HttpStatusCode.Conflict, ProblemTypes.DeviceMismatch), (refused.Status, refused.Type));
        var mismatch = Assert.Single(refused.Devices);
        Assert.Equal(bob[0].AccountId, mismatch.AccountId);
        Assert.Equal([2u], mismatch.Missing);
        Assert.Empty(mismatch.Extra);
        Assert.Empty(mismatch.Stale);
        foreach (var mailbox in new[] { MailboxKeys.Of(carol.AccountId, 1), MailboxKeys.Of(bob[0].AccountId, 1), MailboxKeys.Of(bob[0].AccountId, 3) })
        {
            Assert.Equal(0, (await api.Grains.GetGrain<IMailboxGrain>(mailbox).GetStatusAsync()).Envelopes);
        }

        var stored = await ApiClient.DepositAsync(http, alice, To(carol, 1, id), To(bob[0], id), To(bob[1], id), To(bob[2], id));
        Assert.Equal([(carol.AccountId, 1u), (bob[0].AccountId, 1u), (bob[0].AccountId, 2u), (bob[0].AccountId, 3u)],
            stored.Receipts.Select(r => (r.Recipient, r.DeviceId)));
    }

    [Fact]
    public async Task ANeverSeenDevice_IsExtra_ARemovedOne_IsStale_410WhenThatIsAll()
    {
        using var http = fixture.Gateway.CreateClient();
        var alice = await ApiClient.RegisterAndLoginAsync(http);
        var bob = await DeviceKit.AccountWithDevicesAsync(http, 3);
        // Bob removes device 3.
        await DeviceKit.PublishAsync(http, bob[0].User, 2, bob[0], bob[1]);
        var id = Guid.NewGuid();

        var extra = await Assert.ThrowsAsync<PigeonApiException>(() =>
            ApiClient.DepositAsync(http, alice, To(bob[0], id), To(bob[1], id), To(bob[0].Account, 9, id)));
        var stale = await Assert.ThrowsAsync<PigeonApiException>(() =>
            ApiClient.DepositAsync(http, alice, To(bob[0], id), To(bob[1], id), To(bob[2], id)));
        var staleAndMissing = await Assert.ThrowsAsync<PigeonApiException>(() =>
            ApiClient.DepositAsync(http, alice, To(bob[0], id), To(bob[2], id)));
        // Without a list an account has device 1 alone.
        var carol = await ApiClient.RegisterAndLoginAsync(http);
        var noList = await Assert.ThrowsAsync<PigeonApiException>(() => ApiClient.DepositAsync(http, alice, To(carol, 2, id)));

        Assert.Equal((HttpStatusCode.Conflict, ProblemTypes.DeviceMismatch), (extra.Status, extra.Type));
        AssertParts(Assert.Single(extra.Devices), missing: [], extra: [9u], stale: []);
        Assert.Equal((HttpStatusCode.Gone, ProblemTypes.DevicesStale), (stale.Status, stale.Type));
        AssertParts(Assert.Single(stale.Devices), missing: [], extra: [], stale: [3u]);
        Assert.Equal((HttpStatusCode.Conflict, ProblemTypes.DeviceMismatch), (staleAndMissing.Status, staleAndMissing.Type));
        AssertParts(Assert.Single(staleAndMissing.Devices), missing: [2u], extra: [], stale: [3u]);
        AssertParts(Assert.Single(noList.Devices), missing: [1u], extra: [2u], stale: []);
        Assert.Empty((await ApiClient.ReceiveAsync(http, bob[0].User, Ct)).Envelopes);
        Assert.Empty((await ApiClient.ReceiveAsync(http, bob[1].User, Ct)).Envelopes);
    }

    [Fact]
    public async Task TheDevicesExtension_IsCamelCaseJson_AsTheContractSerialisesDeviceMismatch()
    {
        using var http = fixture.Gateway.CreateClient();
        var alice = await ApiClient.RegisterAndLoginAsync(http);
        var bob = await DeviceKit.AccountWithDevicesAsync(http, 2);

        using var request = ApiClient.Authorized(HttpMethod.Post, "/v1/messages", alice,
            new DepositRequest([To(bob[0], Guid.NewGuid())]));
        using var response = await http.SendAsync(request, Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(text);
        var devices = problem.RootElement.GetProperty("devices");
        Assert.Equal(
            JsonSerializer.Serialize<IReadOnlyList<DeviceMismatch>>([new DeviceMismatch(bob[0].AccountId, [2], [], [])], PigeonJson.TypeInfo<IReadOnlyList<DeviceMismatch>>()),
            devices.GetRawText());
        Assert.Equal(ProblemTypes.DeviceMismatch, problem.RootElement.GetProperty("type").GetString());
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task CopiesToOnesOwnDevices_AddressAllButTheSendingDevice(ApiMode mode)
    {
        using var http = fixture.Api(mode).CreateClient();
        var bob = await ApiClient.RegisterAndLoginAsync(http);
        var alice = await DeviceKit.AccountWithDevicesAsync(http, 3);
        var id = Guid.NewGuid();

        var missing = await Assert.ThrowsAsync<PigeonApiException>(() =>
            ApiClient.DepositAsync(http, alice[0].User, To(bob, 1, id), To(alice[1], id)));
        var sent = await ApiClient.DepositAsync(http, alice[0].User, To(bob, 1, id), To(alice[1], id, 2), To(alice[2], id, 3));

        AssertParts(Assert.Single(missing.Devices), missing: [3u], extra: [], stale: []);
        Assert.Equal(alice[0].AccountId, Assert.Single(missing.Devices).AccountId);
        Assert.Equal([1u, 2u, 3u], sent.Receipts.Select(r => r.DeviceId));
        Assert.Empty((await ApiClient.ReceiveAsync(http, alice[0].User, Ct)).Envelopes);
        Assert.Equal([2], Assert.Single((await ApiClient.ReceiveAsync(http, alice[1].User, Ct)).Envelopes).Payload);
        Assert.Equal([3], Assert.Single((await ApiClient.ReceiveAsync(http, alice[2].User, Ct)).Envelopes).Payload);
        Assert.Equal([1], Assert.Single((await ApiClient.ReceiveAsync(http, bob, Ct)).Envelopes).Payload);
    }

    [Fact]
    public async Task TheSameMessageId_GoesOncePerDevice_AndARetryStoresNothingNew()
    {
        using var http = fixture.Gateway.CreateClient();
        var alice = await ApiClient.RegisterAndLoginAsync(http);
        var bob = await DeviceKit.AccountWithDevicesAsync(http, 2);
        var id = Guid.NewGuid();

        var first = await ApiClient.DepositAsync(http, alice, To(bob[0], id), To(bob[1], id));
        var retry = await ApiClient.DepositAsync(http, alice, To(bob[0], id), To(bob[1], id));

        Assert.Equal(first.Receipts.Select(r => (r.DeviceId, r.Sequence)), retry.Receipts.Select(r => (r.DeviceId, r.Sequence)));
        Assert.Single((await ApiClient.ReceiveAsync(http, bob[0].User, Ct)).Envelopes);
        Assert.Single((await ApiClient.ReceiveAsync(http, bob[1].User, Ct)).Envelopes);
    }

    private static void AssertParts(DeviceMismatch mismatch, uint[] missing, uint[] extra, uint[] stale)
    {
        Assert.Equal(missing, mismatch.Missing);
        Assert.Equal(extra, mismatch.Extra);
        Assert.Equal(stale, mismatch.Stale);
    }
}
