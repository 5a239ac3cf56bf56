using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;
using Pigeon.Api;
using Pigeon.Gateway.Hosting;
using Pigeon.Tests.Gateway;
using Pigeon.Tests.Grains;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Devices;

/// <summary>
/// Provisioning slots for linking a device (issue 16): opened without a token, filled once by a
/// signed-in device, taken once by the new device, and gone after that or after they expire.
/// </summary>
[Collection(PigeonClusterCollection.Name)]
public sealed class ProvisioningTests(PigeonClusterFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task ASlot_TakesOneMessage_WhichIsTakenOnce_AndThenTheSlotIsGone(ApiMode mode)
    {
        var api = fixture.Api(mode);
        using var http = api.CreateClient();
        var alice = await ApiClient.RegisterAndLoginAsync(http);
        using var newDevice = new PigeonApiClient(http);
        using var existing = ApiClient.As(http, alice);
        var payload = RandomNumberGenerator.GetBytes(300);

        var slot = await newDevice.CreateProvisioningSlotAsync(Ct);
        var other = await newDevice.CreateProvisioningSlotAsync(Ct);
        await existing.SendProvisioningAsync(slot.SlotId, payload, Ct);
        // A put whose answer was lost is sent again: the same payload is no second message.
        await existing.SendProvisioningAsync(slot.SlotId, payload, Ct);
        var used = await Assert.ThrowsAsync<PigeonApiException>(() => existing.SendProvisioningAsync(slot.SlotId, [9], Ct));
        var taken = await newDevice.TakeProvisioningAsync(slot.SlotId, TimeSpan.Zero, Ct);
        await existing.SendProvisioningAsync(slot.SlotId, payload, Ct);
        var again = await Assert.ThrowsAsync<PigeonApiException>(() => newDevice.TakeProvisioningAsync(slot.SlotId, TimeSpan.Zero, Ct));
        var putAfter = await Assert.ThrowsAsync<PigeonApiException>(() => existing.SendProvisioningAsync(slot.SlotId, [9], Ct));

        Assert.NotEqual(slot.SlotId, other.SlotId);
        Assert.Equal(api.GrainClock.GetUtcNow() + TimeSpan.FromMinutes(10), slot.ExpiresAt);
        Assert.Equal((HttpStatusCode.Conflict, ProblemTypes.ProvisioningSlotUsed), (used.Status, used.Type));
        Assert.Equal(payload, taken);
        Assert.Equal((HttpStatusCode.NotFound, ProblemTypes.NotFound), (again.Status, again.Type));
        Assert.Equal((HttpStatusCode.NotFound, ProblemTypes.NotFound), (putAfter.Status, putAfter.Type));
        // The other slot is untouched: still open and empty.
        Assert.Null(await newDevice.TakeProvisioningAsync(other.SlotId, TimeSpan.Zero, Ct));
    }

    [Fact]
    public async Task AnOpenSlot_Answers201WithItsAddress_AndAnEmptyWait_204()
    {
        using var http = fixture.Gateway.CreateClient();

        using var created = await http.PostAsync("/v1/provisioning", null, Ct);
        var slot = await System.Net.Http.Json.HttpContentJsonExtensions.ReadFromJsonAsync(created.Content, PigeonJson.TypeInfo<ProvisioningSlotResponse>(), Ct);
        using var empty = await http.GetAsync($"/v1/provisioning/{slot!.SlotId}?wait=0", Ct);

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal($"/v1/provisioning/{slot.SlotId:D}", created.Headers.Location?.OriginalString);
        Assert.Equal(HttpStatusCode.NoContent, empty.StatusCode);
    }

    [Fact]
    public async Task ASlot_Expires_ItsMessageWithIt()
    {
        var api = fixture.Gateway;
        using var http = api.CreateClient();
        var alice = await ApiClient.RegisterAndLoginAsync(http);
        using var newDevice = new PigeonApiClient(http);
        using var existing = ApiClient.As(http, alice);
        var filled = await newDevice.CreateProvisioningSlotAsync(Ct);
        var empty = await newDevice.CreateProvisioningSlotAsync(Ct);
        await existing.SendProvisioningAsync(filled.SlotId, [1, 2, 3], Ct);

        api.GrainClock.Advance(TimeSpan.FromMinutes(10));

        var take = await Assert.ThrowsAsync<PigeonApiException>(() => newDevice.TakeProvisioningAsync(filled.SlotId, TimeSpan.Zero, Ct));
        var put = await Assert.ThrowsAsync<PigeonApiException>(() => existing.SendProvisioningAsync(empty.SlotId, [1], Ct));
        Assert.Equal((HttpStatusCode.NotFound, HttpStatusCode.NotFound), (take.Status, put.Status));
    }

    [Theory]
    [MemberData(nameof(ApiModes.All), MemberType = typeof(ApiModes))]
    public async Task AWaitingTake_ReturnsAsSoonAsTheMessageIsPut_AndOtherwiseWhenItsWaitEnds(ApiMode mode)
    {
        var api = fixture.Api(mode);
        using var http = api.CreateClient();
        var alice = await ApiClient.RegisterAndLoginAsync(http);
        using var newDevice = new PigeonApiClient(http);
        using var existing = ApiClient.As(http, alice);
        var slot = await newDevice.CreateProvisioningSlotAsync(Ct);

        var waiting = newDevice.TakeProvisioningAsync(slot.SlotId, TimeSpan.FromSeconds(25), Ct);
        await Task.Delay(200, Ct);
        Assert.False(waiting.IsCompleted);
        await existing.SendProvisioningAsync(slot.SlotId, [7, 7], Ct);
        // Promptly: no clock is advanced, so only the put can end this wait.
        Assert.Equal([7, 7], await waiting.WaitAsync(TimeSpan.FromSeconds(10), Ct));

        var idle = await newDevice.CreateProvisioningSlotAsync(Ct);
        var emptyWait = newDevice.TakeProvisioningAsync(idle.SlotId, TimeSpan.FromSeconds(5), Ct);
        for (var i = 0; i < 100 && !emptyWait.IsCompleted; i++)
        {
            await Task.Delay(50, Ct);
            api.GrainClock.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Null(await emptyWait.WaitAsync(TimeSpan.FromSeconds(10), Ct));
    }

    [Fact]
    public async Task APayload_UpToTheLimit_Fits_AndOneByteMore_Is413()
    {
        using var http = fixture.Gateway.CreateClient();
        var alice = await ApiClient.RegisterAndLoginAsync(http);
        using var newDevice = new PigeonApiClient(http);
        using var existing = ApiClient.As(http, alice);
        var slot = await newDevice.CreateProvisioningSlotAsync(Ct);
        var largest = RandomNumberGenerator.GetBytes(ApiLimits.MaxProvisioningBytes);

        var tooLarge = await Assert.ThrowsAsync<PigeonApiException>(() =>
            existing.SendProvisioningAsync(slot.SlotId, new byte[ApiLimits.MaxProvisioningBytes + 1], Ct));
        var empty = await Assert.ThrowsAsync<PigeonApiException>(() => existing.SendProvisioningAsync(slot.SlotId, [], Ct));
        await existing.SendProvisioningAsync(slot.SlotId, largest, Ct);

        Assert.Equal((HttpStatusCode.RequestEntityTooLarge, ProblemTypes.BodyTooLarge), (tooLarge.Status, tooLarge.Type));
        Assert.Equal((HttpStatusCode.BadRequest, ProblemTypes.InvalidRequest), (empty.Status, empty.Type));
        Assert.Equal(largest, await newDevice.TakeProvisioningAsync(slot.SlotId, TimeSpan.Zero, Ct));
    }

    [Fact]
    public async Task ARemovedDevice_CannotFillASlot()
    {
        using var http = fixture.Gateway.CreateClient();
        var bob = await DeviceKit.AccountWithDevicesAsync(http, 2);
        await DeviceKit.PublishAsync(http, bob[0].User, 2, bob[0]);
        using var newDevice = new PigeonApiClient(http);
        var slot = await newDevice.CreateProvisioningSlotAsync(Ct);

        using var asRemoved = ApiClient.As(http, bob[1].User);
        var refused = await Assert.ThrowsAsync<PigeonApiException>(() => asRemoved.SendProvisioningAsync(slot.SlotId, [1], Ct));

        Assert.Equal((HttpStatusCode.Forbidden, ProblemTypes.DeviceRemoved), (refused.Status, refused.Type));
        Assert.Null(await newDevice.TakeProvisioningAsync(slot.SlotId, TimeSpan.Zero, Ct));
    }

    [Fact]
    public void TheSlotLifetime_IsConfigurable_AndValidated()
    {
        var problems = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Pigeon:Provisioning:SlotLifetime"] = "02:00:00" }).Build()
            .ValidatePigeonApiConfiguration();

        Assert.Contains(problems, p => p.Contains("SlotLifetime", StringComparison.Ordinal));
    }
}
