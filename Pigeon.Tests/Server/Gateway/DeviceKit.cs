using Pigeon.Api;
using Pigeon.Protocol.Devices;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Gateway;

/// <summary>One device of a test account: its id, its own key, and once signed in its token.</summary>
public sealed class TestDevice(TestUser account, uint deviceId, DeviceKeyPair key)
{
    public TestUser Account { get; } = account;

    public uint DeviceId { get; } = deviceId;

    public DeviceKeyPair Key { get; } = key;

    /// <summary>The device as a <see cref="TestUser"/> holding its token, for the helpers of <see cref="ApiClient"/>.</summary>
    public TestUser User { get; } = new(account.Identity);

    public string AccountId => Account.AccountId;
}

/// <summary>Devices for the server tests: device lists signed by the account's identity, and device-key sign-ins.</summary>
public static class DeviceKit
{
    private static readonly DateTimeOffset Day = new(2026, 12, 2, 0, 0, 0, TimeSpan.Zero);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A new device (a fresh key) of <paramref name="account"/>, not yet listed.</summary>
    public static TestDevice NewDevice(TestUser account, uint deviceId) => new(account, deviceId, DeviceKeyPair.Generate());

    /// <summary>The list of <paramref name="devices"/> at <paramref name="version"/>, signed by the account's identity.</summary>
    public static DeviceListRecord SignedList(TestUser account, ulong version, params TestDevice[] devices)
    {
        var list = new DeviceList(account.AccountId, version, devices.Select(d => new DeviceEntry(d.DeviceId, Day, d.Key.PublicKey)));
        return new DeviceListRecord(list.Version, [.. list.Devices.Select(d => new DeviceRecord(d.DeviceId, d.AddedAt, d.SigningKey))], account.Identity.SignDeviceList(list));
    }

    /// <summary>Stores the list of <paramref name="devices"/> with the token of <paramref name="caller"/> (any signed-in device of the account).</summary>
    public static async Task PublishAsync(HttpClient http, TestUser caller, ulong version, params TestDevice[] devices)
    {
        using var api = ApiClient.As(http, caller);
        await api.SetDeviceListAsync(SignedList(caller, version, devices), Ct);
    }

    /// <summary>Signs <paramref name="device"/> in with its own key; keeps and returns the token.</summary>
    public static async Task<string> SignInAsync(HttpClient http, TestDevice device)
    {
        using var api = new PigeonApiClient(http, Credentials(device));
        await api.SignInAsync(Ct);
        device.User.Token = api.Token!;
        return api.Token!;
    }

    /// <summary>What <paramref name="device"/> signs in with: its own key over the bound challenge.</summary>
    public static ApiCredentials Credentials(TestDevice device) =>
        new(device.AccountId, bound => device.Key.SignAuthChallenge(device.AccountId, device.DeviceId, bound), device.DeviceId);

    /// <summary>
    /// A registered account with devices 1 to <paramref name="count"/> on a stored list (version 1),
    /// each signed in with its own key.
    /// </summary>
    public static async Task<TestDevice[]> AccountWithDevicesAsync(HttpClient http, int count)
    {
        var account = await ApiClient.RegisterAndLoginAsync(http);
        var devices = Enumerable.Range(1, count).Select(i => NewDevice(account, (uint)i)).ToArray();
        await PublishAsync(http, account, 1, devices);
        foreach (var device in devices)
        {
            await SignInAsync(http, device);
        }

        return devices;
    }
}
