using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Pigeon.Api;
using Pigeon.Grains.Abstractions.Accounts;
using Pigeon.Grains.Hosting;
using Pigeon.Hosting;
using Pigeon.Protocol.Delivery;
using Pigeon.Protocol.Devices;
using Pigeon.Protocol.Identity;
using ProtocolPrekeyKind = Pigeon.Protocol.Prekeys.PrekeyKind;

namespace Pigeon.Grains.Accounts;

/// <summary>
/// An account's identity and prekeys. Not reentrant: calls run one at a time, so a bundle fetch
/// takes its one-time prekeys before the next fetch starts; the row delete with SKIP LOCKED keeps
/// that true even if two activations ever overlap. It trusts no caller with keys: registration
/// must derive the account id and carry the agreement key's signature, and every signed prekey
/// must verify with the identity key (<see cref="IdentitySignatures"/>), or nothing is stored.
/// </summary>
internal sealed partial class AccountGrain(
    [PersistentState("account", PigeonStorage.Accounts)] IPersistentState<AccountState> state,
    OneTimePrekeyPool prekeys,
    IOptions<AccountOptions> options,
    [FromKeyedServices(PigeonTime.ServiceKey)] TimeProvider time,
    ILogger<AccountGrain> logger) : Grain, IAccountGrain
{
    // When this activation handed out one-time prekeys within the last hour, oldest first. Kept in
    // memory only: after a reactivation the window starts afresh, which bounds a drain all the same.
    private readonly Queue<DateTimeOffset> _handouts = new();
    private bool _handoutLimitLogged;

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

    public async Task<PrekeyCounts> UploadPrekeysAsync(PrekeyUpload upload)
    {
        ArgumentNullException.ThrowIfNull(upload);
        var identity = EnsureRegistered();
        CheckShape(upload);
        CheckSignatures(upload, identity);
        var sizes = await prekeys.CountAsync(AccountId, CancellationToken.None);
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
        await prekeys.AddAsync(AccountId, upload.OneTimeX25519Prekeys, upload.OneTimeKemPrekeys, now, CancellationToken.None);

        if (upload.SignedPrekey is not null || upload.LastResortKemPrekey is not null)
        {
            state.State.SignedPrekey = upload.SignedPrekey ?? state.State.SignedPrekey;
            state.State.LastResortKemPrekey = upload.LastResortKemPrekey ?? state.State.LastResortKemPrekey;
            await state.WriteStateAsync();
        }

        LogPrekeysUploaded(AccountId, upload.OneTimeX25519Prekeys.Count, upload.OneTimeKemPrekeys.Count);
        return await CountsAsync();
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

    public Task NoteIdentifiedRecipientsAsync(IReadOnlyList<string> recipients)
    {
        ArgumentNullException.ThrowIfNull(recipients);
        var now = time.GetUtcNow();
        foreach (var (recipient, since) in _identifiedRecipients.ToList())
        {
            if (now - since >= TimeSpan.FromHours(1))
            {
                _identifiedRecipients.Remove(recipient);
            }
        }

        var added = recipients.Distinct(StringComparer.Ordinal).Where(r => !_identifiedRecipients.ContainsKey(r)).ToList();
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

    public async Task<PrekeyHandout> FetchBundleAsync()
    {
        var identity = EnsureRegistered();
        if (state.State.SignedPrekey is not { } signedPrekey || state.State.LastResortKemPrekey is not { } lastResort)
        {
            throw new PrekeysUnavailableException();
        }

        if (!HandoutsLeft())
        {
            if (!_handoutLimitLogged)
            {
                _handoutLimitLogged = true;
                LogHandoutsLimited(AccountId, options.Value.MaxOneTimePrekeyHandoutsPerHour);
            }

            return new PrekeyHandout(identity, signedPrekey, null, lastResort, KemPrekeyIsLastResort: true);
        }

        var (x25519, kem) = await prekeys.TakeOneOfEachAsync(AccountId, CancellationToken.None);
        if (x25519 is not null || kem is not null)
        {
            _handouts.Enqueue(time.GetUtcNow());
            _handoutLimitLogged = false;
        }

        return new PrekeyHandout(identity, signedPrekey, x25519, kem ?? lastResort, KemPrekeyIsLastResort: kem is null);
    }

    public async Task<PrekeyCounts> CountPrekeysAsync()
    {
        EnsureRegistered();
        return await CountsAsync();
    }

    private async Task<PrekeyCounts> CountsAsync()
    {
        var sizes = await prekeys.CountAsync(AccountId, CancellationToken.None);
        return new PrekeyCounts(sizes.X25519, sizes.Kem, state.State.SignedPrekey is not null, state.State.LastResortKemPrekey is not null,
            sizes.LowestX25519, sizes.LowestKem);
    }

    private bool HandoutsLeft()
    {
        var hourAgo = time.GetUtcNow() - TimeSpan.FromHours(1);
        while (_handouts.TryPeek(out var oldest) && oldest <= hourAgo)
        {
            _handouts.Dequeue();
        }

        return _handouts.Count < options.Value.MaxOneTimePrekeyHandoutsPerHour;
    }

    public async Task SetDeviceListAsync(SignedDeviceList list)
    {
        ArgumentNullException.ThrowIfNull(list);
        ArgumentNullException.ThrowIfNull(list.Devices);
        var identity = EnsureRegistered();
        if (list.Devices.Count > options.Value.MaxDevices)
        {
            throw new ArgumentException($"An account may have at most {options.Value.MaxDevices} devices.");
        }

        // Repeated or zero ids raise ArgumentException: a 400, like too many devices.
        var signed = new DeviceList(AccountId, list.Version, list.Devices.Select(d => new DeviceEntry(d.DeviceId, d.AddedAt)));

        var publicIdentity = new PublicIdentity(identity.SigningKey, identity.AgreementKey, identity.AgreementKeySignature);
        if (list.Signature is null || !signed.Verify(publicIdentity, list.Signature))
        {
            throw new KeyMismatchException("The device list is not signed by the account's identity.");
        }

        if (state.State.DeviceList is { } stored && list.Version <= stored.Version)
        {
            throw new DeviceListStaleException($"The stored device list has version {stored.Version}; a new one must be above it.");
        }

        state.State.DeviceList = list;
        await state.WriteStateAsync();
    }

    public Task<SignedDeviceList?> GetDeviceListAsync()
    {
        EnsureRegistered();
        return Task.FromResult(state.State.DeviceList);
    }

    private IdentityKeys EnsureRegistered() => state.State.Identity ?? throw new AccountNotFoundException();


    [LoggerMessage(Level = LogLevel.Warning, Message = "Account {AccountId} handed out {Limit} bundles with one-time prekeys this hour; handing out bundles without them")]
    private partial void LogHandoutsLimited(string accountId, int limit);

    [LoggerMessage(Level = LogLevel.Information, Message = "Account {AccountId} reached its limit of {Limit} new recipients per hour")]
    private partial void LogNewRecipientsLimited(string accountId, int limit);

    [LoggerMessage(Level = LogLevel.Information, Message = "Registered account {AccountId}")]
    private partial void LogRegistered(string accountId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Account {AccountId} uploaded {X25519Count} one-time X25519 and {KemCount} one-time ML-KEM prekeys")]
    private partial void LogPrekeysUploaded(string accountId, int x25519Count, int kemCount);
}
