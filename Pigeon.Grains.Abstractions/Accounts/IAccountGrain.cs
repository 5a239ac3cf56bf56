using Orleans.Concurrency;

namespace Pigeon.Grains.Abstractions.Accounts;

/// <summary>
/// One account, keyed by its self-certifying account id: the public identity keys, the signed list of
/// its devices, and each device's prekeys that let others start sessions with it. The grain checks what it is given itself, whoever calls:
/// that the id derives from the identity keys and that every signature verifies (the gateway checks
/// only the shape of a request).
/// </summary>
[Alias("pigeon.account")]
public interface IAccountGrain : IGrainWithStringKey
{
    /// <summary>
    /// Registers the account's identity keys. Registering the same keys again is a no-op that returns
    /// the first registration; other keys for an existing account raise <see cref="AccountConflictException"/>.
    /// </summary>
    [Alias("register")]
    Task<AccountRegistration> RegisterAsync(IdentityKeys keys);

    /// <summary>The account's identity keys, or <see langword="null"/> when it is not registered.</summary>
    [Alias("get-identity")]
    Task<IdentityKeys?> GetIdentityAsync();

    /// <summary>
    /// Stores prekeys of device <paramref name="deviceId"/>: replaces its signed prekey and last-resort
    /// ML-KEM prekey when given, and adds one-time prekeys to its pools. Ids already in a pool are
    /// ignored. Raises <see cref="AccountNotFoundException"/> for an unregistered account,
    /// <see cref="DeviceRemovedException"/> for a device that is not on the list (device 1 only, before
    /// a list) and <see cref="PrekeyPoolFullException"/> when a pool would exceed its limit.
    /// </summary>
    [Alias("upload-prekeys")]
    Task<PrekeyCounts> UploadPrekeysAsync(uint deviceId, PrekeyUpload upload);

    /// <summary>
    /// Hands out a bundle of device <paramref name="deviceId"/> for starting a session with it. It
    /// consumes one one-time X25519 prekey and one one-time ML-KEM prekey when the device's pools have
    /// them; each is handed out at most once, ever. Raises <see cref="AccountNotFoundException"/> or
    /// <see cref="PrekeysUnavailableException"/> (also for a device without keys, or a removed one).
    /// </summary>
    [Alias("fetch-bundle")]
    Task<PrekeyHandout> FetchBundleAsync(uint deviceId);

    /// <summary>How many one-time prekeys of each kind device <paramref name="deviceId"/> has left, and whether its signed ones are present.</summary>
    [Alias("count-prekeys")]
    Task<PrekeyCounts> CountPrekeysAsync(uint deviceId);

    /// <summary>
    /// Replaces the verifier of the account's delivery key: the secret its contacts present to deposit
    /// sealed envelopes without naming themselves (Pigeon.Protocol's <c>DeliveryKey</c>). The owner
    /// derives the verifier (<c>DeliveryKeyVerifier</c>); the server never holds the key itself, and
    /// whoever reads the grain state cannot deposit. A new verifier revokes the old key at once. Raises
    /// <see cref="AccountNotFoundException"/> for an unregistered account.
    /// </summary>
    [Alias("set-delivery-key-verifier")]
    Task SetDeliveryKeyVerifierAsync(uint epoch, byte[] verifier);

    /// <summary>
    /// Whether <paramref name="deliveryKey"/> (a contact's encoding: epoch ‖ key) is the account's
    /// current delivery key, compared in constant time. False alike for a wrong key, an account without
    /// one and an unregistered account, after the same work, so the answer tells nothing about which
    /// accounts exist.
    /// </summary>
    [Alias("accepts-delivery-key"), ReadOnly]
    Task<bool> AcceptsDeliveryKeyAsync(byte[] deliveryKey);

    /// <summary>
    /// Notes that this account's device <paramref name="senderDevice"/> deposits on the identified route
    /// to <paramref name="recipients"/>; raises <see cref="DeviceRemovedException"/> when that device is
    /// not active, and <see cref="NewRecipientLimitException"/>, noting none of them, when that would make
    /// more new recipients within the last hour than the configured limit. A recipient counts once per
    /// hour; the account itself (copies to its other devices) does not count.
    /// </summary>
    [Alias("note-identified-recipients")]
    Task NoteIdentifiedRecipientsAsync(uint senderDevice, IReadOnlyList<string> recipients);

    /// <summary>
    /// Stores the account's signed device list after checking it itself: the registered identity must
    /// have signed it (<see cref="KeyMismatchException"/> otherwise), its version must be above the
    /// stored one (<see cref="DeviceListStaleException"/>), and it names 1 to the configured maximum of
    /// distinct devices, each with a 32-byte signing key and none with an id the account removed before
    /// (ids are not reused; <see cref="ArgumentException"/>). A device the list leaves out (device 1,
    /// for the first list, when it is not on it) is removed: remembered as such for good, its prekeys
    /// deleted and its mailbox purged, so that nothing of it stays on the server.
    /// </summary>
    [Alias("set-device-list")]
    Task SetDeviceListAsync(SignedDeviceList list);

    /// <summary>The stored device list, or null before the first; <see cref="AccountNotFoundException"/> for an unregistered account.</summary>
    [Alias("get-device-list"), ReadOnly]
    Task<SignedDeviceList?> GetDeviceListAsync();

    /// <summary>
    /// What a sign-in of device <paramref name="deviceId"/> is checked against: the identity, where the
    /// device stands, and the key its list names; null for an unregistered account.
    /// </summary>
    [Alias("get-device-sign-in"), ReadOnly]
    Task<DeviceSignIn?> GetDeviceSignInAsync(uint deviceId);

    /// <summary>
    /// Raises <see cref="DeviceRemovedException"/> unless device <paramref name="deviceId"/> is active
    /// (on the current list, or device 1 before the first): checked on every identified request of a
    /// device, since a token outlives its device's removal.
    /// </summary>
    [Alias("ensure-device-active"), ReadOnly]
    Task EnsureDeviceActiveAsync(uint deviceId);

    /// <summary>
    /// Compares the devices a deposit addresses for this account with its current list (no stored list:
    /// device 1), less <paramref name="exceptDevice"/> (the depositing device, for copies to its own
    /// other devices; it may address itself as well, as a note to itself, but need not). An
    /// unregistered account is taken as one without a list.
    /// </summary>
    [Alias("check-devices"), ReadOnly]
    Task<DeviceCheck> CheckDevicesAsync(IReadOnlyList<uint> addressed, uint? exceptDevice);
}
