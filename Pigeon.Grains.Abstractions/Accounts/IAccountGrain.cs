using Orleans.Concurrency;

namespace Pigeon.Grains.Abstractions.Accounts;

/// <summary>
/// One account, keyed by its self-certifying account id: the public identity keys and the prekeys
/// that let others start sessions with it. The grain checks what it is given itself, whoever calls:
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
    /// Stores prekeys: replaces the signed prekey and the last-resort ML-KEM prekey when given, and adds
    /// one-time prekeys to their pools. Ids already in a pool are ignored. Raises
    /// <see cref="AccountNotFoundException"/> for an unregistered account and
    /// <see cref="PrekeyPoolFullException"/> when a pool would exceed its limit.
    /// </summary>
    [Alias("upload-prekeys")]
    Task<PrekeyCounts> UploadPrekeysAsync(PrekeyUpload upload);

    /// <summary>
    /// Hands out a bundle for starting a session. It consumes one one-time X25519 prekey and one
    /// one-time ML-KEM prekey when the pools have them; each is handed out at most once, ever.
    /// Raises <see cref="AccountNotFoundException"/> or <see cref="PrekeysUnavailableException"/>.
    /// </summary>
    [Alias("fetch-bundle")]
    Task<PrekeyHandout> FetchBundleAsync();

    /// <summary>How many one-time prekeys of each kind remain, and whether the signed ones are present.</summary>
    [Alias("count-prekeys")]
    Task<PrekeyCounts> CountPrekeysAsync();

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
    /// Notes that this account deposits on the identified route to <paramref name="recipients"/>; raises
    /// <see cref="NewRecipientLimitException"/>, noting none of them, when that would make more new
    /// recipients within the last hour than the configured limit. A recipient counts once per hour.
    /// </summary>
    [Alias("note-identified-recipients")]
    Task NoteIdentifiedRecipientsAsync(IReadOnlyList<string> recipients);

    /// <summary>
    /// Stores the account's signed device list after checking it itself: the registered identity must
    /// have signed it (<see cref="KeyMismatchException"/> otherwise), its version must be above the
    /// stored one (<see cref="DeviceListStaleException"/>), and it names 1 to the configured maximum of
    /// distinct devices (<see cref="ArgumentException"/>).
    /// </summary>
    [Alias("set-device-list")]
    Task SetDeviceListAsync(SignedDeviceList list);

    /// <summary>The stored device list, or null before the first; <see cref="AccountNotFoundException"/> for an unregistered account.</summary>
    [Alias("get-device-list"), ReadOnly]
    Task<SignedDeviceList?> GetDeviceListAsync();
}
