using Pigeon.Api;
using Pigeon.Protocol.Devices;
using Pigeon.Protocol.Identity;

namespace Pigeon.Bench.Api;

/// <summary>
/// One simulated client device: an identity, its API client (which holds its token) and how far it has
/// read its mailbox. An account with several devices (<c>--devices</c>) is one of these per device,
/// each signing in with its own <see cref="DeviceKeyPair"/>; <see cref="Devices"/> names them all.
/// </summary>
public sealed class VirtualUser : IDisposable
{
    private IdentityKeyPair? _identity;
    private DeviceKeyPair? _deviceKey;

    /// <summary>
    /// Device <paramref name="deviceId"/> of the account of <paramref name="identity"/>, whose requests go
    /// over the shared <paramref name="http"/>; it signs in with <paramref name="deviceKey"/> when given
    /// (see <see cref="UseDeviceKey"/>), otherwise with the identity key, as device 1 of an account without
    /// a device list does. It owns both keys.
    /// </summary>
    public VirtualUser(IdentityKeyPair identity, HttpClient http, TimeSpan requestTimeout, uint deviceId = 1, DeviceKeyPair? deviceKey = null)
    {
        _identity = identity;
        _deviceKey = deviceKey;
        AccountId = identity.AccountId;
        DeviceId = deviceId;
        Devices = [this];
        Api = new PigeonApiClient(http, new ApiCredentials(AccountId, SignChallenge, deviceId))
        {
            RequestTimeout = requestTimeout,
        };
    }

    /// <summary>The identity keys, until <see cref="ForgetIdentity"/>.</summary>
    public IdentityKeyPair Identity => _identity ?? throw new ObjectDisposedException(nameof(VirtualUser), "The identity was forgotten after login.");

    /// <summary>The account id the keys derive to.</summary>
    public string AccountId { get; }

    /// <summary>This device's id on its account's list (1 for the first).</summary>
    public uint DeviceId { get; }

    /// <summary>Every device of this account, by id, this one included (just this one unless the account published a list of more).</summary>
    public IReadOnlyList<VirtualUser> Devices { get; internal set; }

    /// <summary>The API as this device; it signs in with its device key (or the identity key, see the constructor), and keeps the token.</summary>
    public PigeonApiClient Api { get; }

    /// <summary>The delivery key the user registered (end-to-end mode), with which others deposit to it sealed.</summary>
    public Protocol.Delivery.DeliveryKey? DeliveryKey { get; set; }

    /// <summary>The highest sequence number received so far.</summary>
    public long After { get; set; }

    /// <summary>
    /// From now on signs in with <paramref name="deviceKey"/> (which it then owns), as device 1 must once
    /// its account's signed list names that key; the token held is dropped, so the next request signs in anew.
    /// </summary>
    public void UseDeviceKey(DeviceKeyPair deviceKey)
    {
        _deviceKey?.Dispose();
        _deviceKey = deviceKey;
        Api.Token = null;
    }

    /// <summary>
    /// Frees the private keys once the token is issued. Each key sits in libsodium's guarded memory,
    /// a few memory mappings apiece, so ten thousand live identities exceed Linux's default
    /// <c>vm.max_map_count</c> (65,530) and the runtime dies unable to map memory.
    /// </summary>
    public void ForgetIdentity()
    {
        _identity?.Dispose();
        _identity = null;
        _deviceKey?.Dispose();
        _deviceKey = null;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        ForgetIdentity();
        Api.Dispose();
    }

    private byte[] SignChallenge(byte[] challenge) => _deviceKey is { } key
        ? key.SignAuthChallenge(AccountId, DeviceId, challenge)
        : Identity.SignAuthChallenge(AccountId, challenge);
}
