using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Pigeon.Api;
using Pigeon.Grains.Abstractions.Accounts;
using Pigeon.Grains.Abstractions.Mailboxes;
using Pigeon.Grains.Hosting;
using Pigeon.Hosting;
using Pigeon.Protocol.Delivery;
using Pigeon.Protocol.Devices;
using Pigeon.Protocol.Identity;
using ProtocolPrekeyKind = Pigeon.Protocol.Prekeys.PrekeyKind;

namespace Pigeon.Grains.Accounts;

/// <summary>
/// An account's identity, its signed device list and each device's prekeys. Not reentrant: calls run one at a time, so a bundle fetch
/// takes its one-time prekeys before the next fetch starts; the row delete with SKIP LOCKED keeps
/// that true even if two activations ever overlap. It trusts no caller with keys: registration
/// must derive the account id and carry the agreement key's signature, and every signed prekey
/// must verify with the identity key (<see cref="IdentitySignatures"/>), or nothing is stored.
/// Devices: before the account stores a list it has one, device 1; a list names them all, and a device
/// a list leaves out is removed for good (<see cref="AccountState.RemovedDevices"/>).
/// </summary>
internal sealed partial class AccountGrain(
    [PersistentState("account", PigeonStorage.Accounts)] IPersistentState<AccountState> state,
    OneTimePrekeyPool prekeys,
    IOptions<AccountOptions> options,
    [FromKeyedServices(PigeonTime.ServiceKey)] TimeProvider time,
    ILogger<AccountGrain> logger) : Grain, IAccountGrain
{
    // When this activation handed out one-time prekeys of each device within the last hour, oldest
    // first: the limit is per device, as the pools are. Kept in memory only: after a reactivation the
    // window starts afresh, which bounds a drain all the same.
    private readonly Dictionary<uint, Queue<DateTimeOffset>> _handouts = [];
    private readonly HashSet<uint> _handoutLimitLogged = [];

    // The recipients this account deposited to on the identified route within the last hour, with
    // when each was first noted; in memory, like the handouts.
    private readonly Dictionary<string, DateTimeOffset> _identifiedRecipients = new(StringComparer.Ordinal);

    private string AccountId => this.GetPrimaryKeyString();

    public async Task<AccountRegistration> RegisterAsync(IdentityKeys keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (state.State.Identity is { } existing)
        {
            return existing.SameAs(keys)
                ? new AccountRegistration(state.State.RegisteredAt, AlreadyRegistered: true)
                : throw new AccountConflictException();
        }

        if (keys.SigningKey is null || keys.AgreementKey is null || keys.AgreementKeySignature is null
            || !new PublicIdentity(keys.SigningKey, keys.AgreementKey, keys.AgreementKeySignature).IsValidFor(AccountId))
        {
            throw new KeyMismatchException("The keys do not match the account id, or the agreement key's signature does not verify.");
        }

        state.State.Identity = keys;
        state.State.RegisteredAt = time.GetUtcNow();
        await state.WriteStateAsync();
        LogRegistered(AccountId);
        return new AccountRegistration(state.State.RegisteredAt, AlreadyRegistered: false);
    }

    public Task<IdentityKeys?> GetIdentityAsync() => Task.FromResult(state.State.Identity);

    public async Task<PrekeyCounts> UploadPrekeysAsync(uint deviceId, PrekeyUpload upload)
    {
        ArgumentNullException.ThrowIfNull(upload);
        var identity = EnsureRegistered();
        EnsureActive(deviceId);
        CheckShape(upload);
        CheckSignatures(upload, identity);
        var sizes = await prekeys.CountAsync(AccountId, deviceId, CancellationToken.None);
        var limit = options.Value.MaxOneTimePrekeysPerKind;
        if (sizes.X25519 + upload.OneTimeX25519Prekeys.Count > limit)
        {
            throw new PrekeyPoolFullException(OneTimePrekeyKind.X25519, limit);
        }

        if (sizes.Kem + upload.OneTimeKemPrekeys.Count > limit)
        {
            throw new PrekeyPoolFullException(OneTimePrekeyKind.MlKem1024, limit);
        }

        var now = time.GetUtcNow();
        await prekeys.AddAsync(AccountId, deviceId, upload.OneTimeX25519Prekeys, upload.OneTimeKemPrekeys, now, CancellationToken.None);

        if (upload.SignedPrekey is not null || upload.LastResortKemPrekey is not null)
        {
            var device = state.State.Prekeys.TryGetValue(deviceId, out var held) ? held : state.State.Prekeys[deviceId] = new DevicePrekeys();
            device.SignedPrekey = upload.SignedPrekey ?? device.SignedPrekey;
            device.LastResortKemPrekey = upload.LastResortKemPrekey ?? device.LastResortKemPrekey;
            await state.WriteStateAsync();
        }

        LogPrekeysUploaded(AccountId, deviceId, upload.OneTimeX25519Prekeys.Count, upload.OneTimeKemPrekeys.Count);
        return await CountsAsync(deviceId);
    }

    // The gateway checks the same shape first, to name the field; the grain still refuses a malformed
    // upload whole, whoever calls it, so that nothing of it is stored.
    private static void CheckShape(PrekeyUpload upload)
    {
        if (upload.OneTimeX25519Prekeys is null || upload.OneTimeKemPrekeys is null)
        {
            throw new ArgumentException("The one-time prekey lists must not be null.", nameof(upload));
        }

        Check(upload.SignedPrekey, "signed prekey", ApiLimits.PublicKeyBytes, signed: true);
        Check(upload.LastResortKemPrekey, "last-resort ML-KEM prekey", ApiLimits.KemPublicKeyBytes, signed: true);
        CheckAll(upload.OneTimeX25519Prekeys, "one-time X25519 prekey", ApiLimits.PublicKeyBytes, signed: false);
        CheckAll(upload.OneTimeKemPrekeys, "one-time ML-KEM prekey", ApiLimits.KemPublicKeyBytes, signed: true);

        static void CheckAll(IReadOnlyList<Prekey> prekeys, string what, int keyBytes, bool signed)
        {
            for (var i = 0; i < prekeys.Count; i++)
            {
                Check(prekeys[i] ?? throw new ArgumentException($"{what} {i} is null.", nameof(upload)), $"{what} {i}", keyBytes, signed);
            }

            if (prekeys.Select(p => p.Id).Distinct().Count() != prekeys.Count)
            {
                throw new ArgumentException($"Each {what} id may appear once per upload.", nameof(upload));
            }
        }

        static void Check(Prekey? prekey, string what, int keyBytes, bool signed)
        {
            if (prekey is null)
            {
                return;
            }

            if (prekey.PublicKey is null || prekey.PublicKey.Length != keyBytes)
            {
                throw new ArgumentException($"The {what} must have a {keyBytes}-byte public key.", nameof(upload));
            }

            if (signed ? prekey.Signature is not { Length: ApiLimits.SignatureBytes } : prekey.Signature is not null)
            {
                throw new ArgumentException(
                    signed ? $"The {what} must have a {ApiLimits.SignatureBytes}-byte signature." : $"The {what} is not a signed kind.", nameof(upload));
            }
        }
    }

    // Each signature binds the prekey's kind and id, so one made for another kind or id does not verify.
    private static void CheckSignatures(PrekeyUpload upload, IdentityKeys identity)
    {
        Verify(upload.SignedPrekey, ProtocolPrekeyKind.SignedX25519, "signed prekey");
        Verify(upload.LastResortKemPrekey, ProtocolPrekeyKind.MlKem1024LastResort, "last-resort ML-KEM prekey");
        for (var i = 0; i < upload.OneTimeKemPrekeys.Count; i++)
        {
            Verify(upload.OneTimeKemPrekeys[i], ProtocolPrekeyKind.MlKem1024, $"one-time ML-KEM prekey {i}");
        }

        void Verify(Prekey? prekey, ProtocolPrekeyKind kind, string what)
        {
            if (prekey is not null && !IdentitySignatures.VerifyPrekey(identity.SigningKey, kind, prekey.Id, prekey.PublicKey, prekey.Signature))
            {
                throw new KeyMismatchException($"The signature of the {what} does not verify with the identity key.");
            }
        }
    }

    public async Task SetDeliveryKeyVerifierAsync(uint epoch, byte[] verifier)
    {
        ArgumentNullException.ThrowIfNull(verifier);
        EnsureRegistered();
        if (verifier.Length != DeliveryKeyVerifier.Size)
        {
            throw new ArgumentException($"A delivery key verifier is {DeliveryKeyVerifier.Size} bytes.", nameof(verifier));
        }

        (state.State.DeliveryKeyEpoch, state.State.DeliveryKeyVerifier) = (epoch, verifier);
        await state.WriteStateAsync();
    }

    public Task<bool> AcceptsDeliveryKeyAsync(byte[] deliveryKey)
    {
        ArgumentNullException.ThrowIfNull(deliveryKey);
        // A key that is no encoding, an account without a key or an unregistered one: the decoy, so the
        // work and the answer are those of a wrong key.
        var presented = deliveryKey.Length == DeliveryKey.EncodedSize ? DeliveryKey.FromBytes(deliveryKey) : null;
        var stored = state.State.DeliveryKeyVerifier ?? DeliveryKeyVerifier.Decoy();
        var matches = DeliveryKeyVerifier.Matches(stored, AccountId, presented?.Epoch ?? 0, presented is null ? deliveryKey : presented.Key);
        return Task.FromResult(matches && presented is { } key && key.Epoch == state.State.DeliveryKeyEpoch);
    }

    public Task NoteIdentifiedRecipientsAsync(uint senderDevice, IReadOnlyList<string> recipients)
    {
        ArgumentNullException.ThrowIfNull(recipients);
        EnsureActive(senderDevice);
        var now = time.GetUtcNow();
        foreach (var (recipient, since) in _identifiedRecipients.ToList())
        {
            if (now - since >= TimeSpan.FromHours(1))
            {
                _identifiedRecipients.Remove(recipient);
            }
        }

        var added = recipients.Distinct(StringComparer.Ordinal).Where(r => r != AccountId && !_identifiedRecipients.ContainsKey(r)).ToList();
        var limit = options.Value.MaxNewRecipientsPerHour;
        if (_identifiedRecipients.Count + added.Count > limit)
        {
            var oldest = _identifiedRecipients.Count == 0 ? now : _identifiedRecipients.Values.Min();
            LogNewRecipientsLimited(AccountId, limit);
            throw new NewRecipientLimitException(limit, oldest + TimeSpan.FromHours(1) - now);
        }

        foreach (var recipient in added)
        {
            _identifiedRecipients[recipient] = now;
        }

        return Task.CompletedTask;
    }

    public async Task<PrekeyHandout> FetchBundleAsync(uint deviceId)
    {
        var identity = EnsureRegistered();
        if (Standing(deviceId) != DeviceStanding.Active
            || !state.State.Prekeys.TryGetValue(deviceId, out var device)
            || device.SignedPrekey is not { } signedPrekey || device.LastResortKemPrekey is not { } lastResort)
        {
            throw new PrekeysUnavailableException();
        }

        if (!_handouts.TryGetValue(deviceId, out var handouts))
        {
            handouts = _handouts[deviceId] = new Queue<DateTimeOffset>();
        }

        if (!HandoutsLeft(handouts))
        {
            if (_handoutLimitLogged.Add(deviceId))
            {
                LogHandoutsLimited(AccountId, deviceId, options.Value.MaxOneTimePrekeyHandoutsPerHour);
            }

            return new PrekeyHandout(identity, signedPrekey, null, lastResort, KemPrekeyIsLastResort: true);
        }

        var (x25519, kem) = await prekeys.TakeOneOfEachAsync(AccountId, deviceId, CancellationToken.None);
        if (x25519 is not null || kem is not null)
        {
            handouts.Enqueue(time.GetUtcNow());
            _handoutLimitLogged.Remove(deviceId);
        }

        return new PrekeyHandout(identity, signedPrekey, x25519, kem ?? lastResort, KemPrekeyIsLastResort: kem is null);
    }

    public async Task<PrekeyCounts> CountPrekeysAsync(uint deviceId)
    {
        EnsureRegistered();
        return await CountsAsync(deviceId);
    }

    private async Task<PrekeyCounts> CountsAsync(uint deviceId)
    {
        var sizes = await prekeys.CountAsync(AccountId, deviceId, CancellationToken.None);
        var device = state.State.Prekeys.GetValueOrDefault(deviceId);
        return new PrekeyCounts(sizes.X25519, sizes.Kem, device?.SignedPrekey is not null, device?.LastResortKemPrekey is not null,
            sizes.LowestX25519, sizes.LowestKem);
    }

    private bool HandoutsLeft(Queue<DateTimeOffset> handouts)
    {
        var hourAgo = time.GetUtcNow() - TimeSpan.FromHours(1);
        while (handouts.TryPeek(out var oldest) && oldest <= hourAgo)
        {
            handouts.Dequeue();
        }

        return handouts.Count < options.Value.MaxOneTimePrekeyHandoutsPerHour;
    }

    public async Task SetDeviceListAsync(SignedDeviceList list)
    {
        ArgumentNullException.ThrowIfNull(list);
        ArgumentNullException.ThrowIfNull(list.Devices);
        var identity = EnsureRegistered();
        // What an earlier removal left undone, should it have failed part-way.
        await PurgeRemovedAsync();
        if (list.Devices.Count > options.Value.MaxDevices)
        {
            throw new ArgumentException($"An account may have at most {options.Value.MaxDevices} devices.");
        }

        // Repeated or zero ids, and keys that are not 32 bytes, raise ArgumentException: a 400, like too many devices.
        if (list.Devices.Any(d => d is null))
        {
            throw new ArgumentException("A device list must not contain null devices.");
        }

        var signed = new DeviceList(AccountId, list.Version, list.Devices.Select(d => new DeviceEntry(d.DeviceId, d.AddedAt, d.SigningKey)));

        var publicIdentity = new PublicIdentity(identity.SigningKey, identity.AgreementKey, identity.AgreementKeySignature);
        if (list.Signature is null || !signed.Verify(publicIdentity, list.Signature))
        {
            throw new KeyMismatchException("The device list is not signed by the account's identity.");
        }

        if (state.State.DeviceList is { } stored && list.Version <= stored.Version)
        {
            throw new DeviceListStaleException($"The stored device list has version {stored.Version}; a new one must be above it.");
        }

        // A removed device stays removed: were its id reused, senders' sessions with the old device
        // would meet a new one under the same address.
        if (list.Devices.FirstOrDefault(d => state.State.RemovedDevices.Contains(d.DeviceId)) is { } reused)
        {
            throw new ArgumentException($"Device {reused.DeviceId} was removed; device ids are not reused.");
        }

        var removed = ActiveDeviceIds().Where(id => !list.Devices.Any(d => d.DeviceId == id)).ToList();
        state.State.DeviceList = list;
        foreach (var id in removed)
        {
            state.State.RemovedDevices.Add(id);
            state.State.PurgePending.Add(id);
            state.State.Prekeys.Remove(id);
        }

        // Stored first, so the removed devices are refused from now on; then their rows go.
        await state.WriteStateAsync();
        if (removed.Count > 0)
        {
            LogDevicesRemoved(AccountId, removed.Count);
        }

        await PurgeRemovedAsync();
        if (removed.Count > 0)
        {
            // The activation stays for the sweep (KeepAlive); a silo lost before it leaves the stragglers to the envelopes' TTL.
            this.RegisterGrainTimer(_ => PurgeMailboxesAsync(removed), new GrainTimerCreationOptions(options.Value.RemovedDeviceSweepDelay, Timeout.InfiniteTimeSpan)
            {
                KeepAlive = true,
            });
        }
    }

    private Task PurgeMailboxesAsync(IEnumerable<uint> deviceIds) =>
        Task.WhenAll(deviceIds.Select(id => GrainFactory.GetGrain<IMailboxGrain>(MailboxKeys.Of(AccountId, id)).PurgeAsync()));

    // Deletes what the server holds for removed devices: their one-time prekeys and their mailboxes.
    // Each part is idempotent, so what a failure left is done again with the next list.
    private async Task PurgeRemovedAsync()
    {
        if (state.State.PurgePending.Count == 0)
        {
            return;
        }

        var pending = state.State.PurgePending.ToList();
        await prekeys.DeleteDevicesAsync(AccountId, pending, CancellationToken.None);
        await PurgeMailboxesAsync(pending);
        state.State.PurgePending.Clear();
        await state.WriteStateAsync();
    }

    // The devices in force: the stored list's, or device 1 before the first list.
    private IEnumerable<uint> ActiveDeviceIds() =>
        state.State.DeviceList is { } list ? list.Devices.Select(d => d.DeviceId) : state.State.RemovedDevices.Contains(1) ? [] : [1u];

    private DeviceStanding Standing(uint deviceId) =>
        ActiveDeviceIds().Contains(deviceId) ? DeviceStanding.Active
        : state.State.RemovedDevices.Contains(deviceId) ? DeviceStanding.Removed
        : DeviceStanding.Unknown;

    private void EnsureActive(uint deviceId)
    {
        if (Standing(deviceId) != DeviceStanding.Active)
        {
            throw new DeviceRemovedException($"Device {deviceId} is not on the account's device list.");
        }
    }

    public Task<DeviceSignIn?> GetDeviceSignInAsync(uint deviceId)
    {
        if (state.State.Identity is not { } identity)
        {
            return Task.FromResult<DeviceSignIn?>(null);
        }

        var standing = Standing(deviceId);
        var key = standing == DeviceStanding.Active ? state.State.DeviceList?.Devices.First(d => d.DeviceId == deviceId).SigningKey : null;
        return Task.FromResult<DeviceSignIn?>(new DeviceSignIn(identity, standing, key));
    }

    public Task EnsureDeviceActiveAsync(uint deviceId)
    {
        EnsureRegistered();
        EnsureActive(deviceId);
        return Task.CompletedTask;
    }

    public Task<DeviceCheck> CheckDevicesAsync(IReadOnlyList<uint> addressed, uint? exceptDevice)
    {
        ArgumentNullException.ThrowIfNull(addressed);
        var active = ActiveDeviceIds().ToHashSet();
        var expected = active.Where(id => id != exceptDevice).ToHashSet();
        // The depositing device may address itself too (a note to itself), but need not.
        var distinct = addressed.Distinct().Where(id => id != exceptDevice || !active.Contains(id)).Order().ToList();
        var missing = expected.Where(id => !distinct.Contains(id)).Order().ToList();
        var unexpected = distinct.Where(id => !expected.Contains(id)).ToList();
        var stale = unexpected.Where(state.State.RemovedDevices.Contains).ToList();
        var extra = unexpected.Where(id => !state.State.RemovedDevices.Contains(id)).ToList();
        return Task.FromResult(new DeviceCheck(missing, extra, stale));
    }

    public Task<SignedDeviceList?> GetDeviceListAsync()
    {
        EnsureRegistered();
        return Task.FromResult(state.State.DeviceList);
    }

    private IdentityKeys EnsureRegistered() => state.State.Identity ?? throw new AccountNotFoundException();


    [LoggerMessage(Level = LogLevel.Warning, Message = "Account {AccountId} device {DeviceId} handed out {Limit} bundles with one-time prekeys this hour; handing out bundles without them")]
    private partial void LogHandoutsLimited(string accountId, uint deviceId, int limit);

    [LoggerMessage(Level = LogLevel.Information, Message = "Account {AccountId} removed {Count} devices; their prekeys and mailboxes are deleted")]
    private partial void LogDevicesRemoved(string accountId, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Account {AccountId} reached its limit of {Limit} new recipients per hour")]
    private partial void LogNewRecipientsLimited(string accountId, int limit);

    [LoggerMessage(Level = LogLevel.Information, Message = "Registered account {AccountId}")]
    private partial void LogRegistered(string accountId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Account {AccountId} device {DeviceId} uploaded {X25519Count} one-time X25519 and {KemCount} one-time ML-KEM prekeys")]
    private partial void LogPrekeysUploaded(string accountId, uint deviceId, int x25519Count, int kemCount);
}
