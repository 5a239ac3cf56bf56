using System.Collections.Concurrent;
using System.Net;
using Pigeon.Api;
using Pigeon.Messaging.Profiles;
using Pigeon.Messaging.Store;
using Pigeon.Protocol;
using Pigeon.Protocol.Devices;
using Pigeon.Protocol.Envelope;
using Pigeon.Protocol.Identity;
using Pigeon.Protocol.Prekeys;

namespace Pigeon.Messaging.Devices;

/// <summary>Where a sending device stands on its account's list (<see cref="DeviceBook.Standing"/>).</summary>
internal enum SenderDevice
{
    Listed,
    Removed,
    Unknown,
}

/// <summary>One device of this account, as <see cref="DeviceBook.ListAsync"/> shows it.</summary>
/// <param name="DeviceId">Its id.</param>
/// <param name="AddedAt">When it was added.</param>
/// <param name="IsThisDevice">True for the device this profile is.</param>
public sealed record OwnDevice(uint DeviceId, DateTimeOffset AddedAt, bool IsThisDevice);

/// <summary>
/// Devices (issue 16, docs/adr/0005-devices.md): this account's list (which only its identity signs;
/// the server stores and serves it), the lists of the accounts we write to (verified under their
/// identity and never rolled back), and a session with every device on them. What is sent goes to
/// every device of its recipient and to our own other devices.
/// </summary>
public sealed class DeviceBook
{
    private readonly ProfileSession _session;

    // A bundle fetched only to learn an account's identity (RefreshAsync), kept for the session that
    // follows with that device, so that learning the identity spends no second one-time prekey.
    private readonly ConcurrentDictionary<DeviceAddress, PrekeyBundle> _unusedBundles = new();

    internal DeviceBook(ProfileSession session) => _session = session;

    /// <summary>This account's devices, from the list the server serves (verified under our identity).</summary>
    public async Task<IReadOnlyList<OwnDevice>> ListAsync(CancellationToken ct)
    {
        await RefreshAsync(_session.Profile.AccountId, ct);
        var list = await OwnListAsync();
        return [.. list.Devices.Select(d => new OwnDevice(d.DeviceId, d.AddedAt, d.DeviceId == _session.Profile.DeviceId))];
    }

    /// <summary>
    /// Removes device <paramref name="deviceId"/> from this account: a new list, signed, which the
    /// server stores, deleting the device's mailbox and prekeys and refusing it from then on. Other
    /// accounts stop encrypting to it at their next send (the server answers 410 to a deposit for it).
    /// Our delivery key is rotated after it, as when a contact is removed: the removed device held the
    /// old one, and with it could still deposit sealed to us.
    /// </summary>
    /// <exception cref="DeviceNotFoundException">The list has no such device, or it is this one.</exception>
    public async Task RemoveAsync(uint deviceId, CancellationToken ct)
    {
        await RefreshAsync(_session.Profile.AccountId, ct);
        var list = await OwnListAsync();
        if (list.Find(deviceId) is null || deviceId == _session.Profile.DeviceId)
        {
            throw new DeviceNotFoundException(deviceId, deviceId == _session.Profile.DeviceId);
        }

        await PublishAsync(list.Without(deviceId), ct);
        await _session.Contacts.RotateDeliveryKeyAsync(_ => { }, ct);
    }

    /// <summary>Signs <paramref name="list"/> with our identity, stores it on the server, then here, and forgets the sessions with devices it left out.</summary>
    internal async Task PublishAsync(DeviceList list, CancellationToken ct)
    {
        var signature = _session.Identity.SignDeviceList(list);
        await _session.CallServerAsync(api => api.SetDeviceListAsync(list.ToRecord(signature), ct));
        await _session.WithStoreAsync(database => database.InTransaction(() => Accept(database, list, signature, database.DeviceLists.Load(list.AccountId)?.List)));
    }

    /// <summary>Our own list as last accepted.</summary>
    internal Task<DeviceList> OwnListAsync() => _session.WithStoreAsync(database =>
        database.DeviceLists.Load(_session.Profile.AccountId)?.List ?? throw new ProfileDamagedException("device_lists", new KeyNotFoundException("No own device list.")));

    /// <summary>The highest device id this account ever had (ids are not given out twice).</summary>
    internal Task<uint> HighestOwnDeviceIdAsync() => _session.WithStoreAsync(database => database.DeviceLists.Load(_session.Profile.AccountId)?.HighestDeviceId ?? 1);

    /// <summary>
    /// Fetches <paramref name="accountId"/>'s device list and accepts it when its identity signed it and
    /// it does not roll back the one accepted before (<see cref="DeviceListRefusedException"/>
    /// otherwise, and nothing changes). Sessions with devices it no longer names are forgotten; a
    /// contact that gained a device gets a line in its conversation ("… added a device on …").
    /// </summary>
    internal async Task<DeviceListChange> RefreshAsync(string accountId, CancellationToken ct)
    {
        DeviceListRecord served;
        try
        {
            served = await _session.CallServerAsync(api => api.FetchDeviceListAsync(accountId, ct), accountId);
        }
        catch (ServerRefusedException refused) when (refused.Problem.Status == HttpStatusCode.NotFound && refused.Problem.Type != ProblemTypes.AccountNotFound)
        {
            throw new DeviceListRefusedException(accountId, "the server has no device list for it");
        }

        DeviceList list;
        try
        {
            list = served.ToDeviceList(accountId);
        }
        catch (ProtocolException exception)
        {
            throw new DeviceListRefusedException(accountId, exception.Message);
        }

        var identity = await _session.WithStoreAsync(database => KnownIdentity(database, accountId))
            ?? await IdentityFromBundleAsync(accountId, list.Devices[0].DeviceId, ct);
        return await _session.WithStoreAsync(database => database.InTransaction(() =>
        {
            var before = database.DeviceLists.Load(accountId)?.List;
            try
            {
                new DeviceListTracker(identity, before).Accept(list, served.Signature);
            }
            catch (ProtocolException exception)
            {
                throw new DeviceListRefusedException(accountId, exception.Message);
            }

            return Accept(database, list, served.Signature, before);
        }));
    }

    /// <summary>
    /// Makes sure we hold a session with every device of each of <paramref name="accounts"/> (for our
    /// own account, every other device): the list is fetched when none was accepted yet, and a device
    /// without a session gets one from its prekey bundle, checked against the account's identity.
    /// </summary>
    internal async Task EnsureSessionsAsync(IEnumerable<string> accounts, CancellationToken ct)
    {
        foreach (var accountId in accounts.Distinct())
        {
            if (await _session.WithStoreAsync(database => database.DeviceLists.Load(accountId)) is null)
            {
                await RefreshAsync(accountId, ct);
            }

            var missing = await _session.WithStoreAsync(database => Targets(database, accountId)
                .Where(device => database.Sessions.Load(new DeviceAddress(accountId, device))?.Current is null).ToList());
            var refreshed = false;
            foreach (var device in missing)
            {
                if (refreshed && !await _session.WithStoreAsync(database => Targets(database, accountId).Contains(device)))
                {
                    continue;
                }

                Session session;
                try
                {
                    session = await InitiateAsync(new DeviceAddress(accountId, device), ct);
                }
                catch (ServerRefusedException refused) when (!refreshed && refused.Problem.Type == ProblemTypes.PrekeysUnavailable)
                {
                    // A listed device without keys was most likely removed since we took the list: the
                    // current list says, once; a device still listed without keys is the account's to fix.
                    refreshed = true;
                    await RefreshAsync(accountId, ct);
                    if (await _session.WithStoreAsync(database => Targets(database, accountId).Contains(device)))
                    {
                        throw;
                    }

                    continue;
                }

                await _session.WithStoreAsync(database => database.InTransaction(() =>
                {
                    var address = new DeviceAddress(accountId, device);
                    var record = database.Sessions.Load(address) ?? new SessionRecord();
                    record.Activate(session);
                    database.Sessions.Save(address, record);
                }));
            }
        }
    }

    /// <summary>
    /// The devices a message to <paramref name="accountId"/> goes to: those on its accepted list (ours
    /// but this one, for our own account); before any list was accepted, those we hold sessions with.
    /// </summary>
    internal List<uint> Targets(ProfileDatabase database, string accountId)
    {
        var own = accountId == _session.Profile.AccountId;
        var devices = database.DeviceLists.Load(accountId)?.List.Devices.Select(d => d.DeviceId).ToList() ?? database.Sessions.DevicesOf(accountId);
        return [.. devices.Where(d => !own || d != _session.Profile.DeviceId)];
    }

    /// <summary>
    /// Where <paramref name="sender"/> stands on its account's accepted list: on it; removed (not on it,
    /// but not above the highest id the list ever had); or new to us (above it, or no list yet), and the
    /// caller fetches the list again.
    /// </summary>
    internal static SenderDevice Standing(ProfileDatabase database, DeviceAddress sender) => database.DeviceLists.Load(sender.AccountId) switch
    {
        null => SenderDevice.Unknown,
        var (list, _, _) when list.Find(sender.DeviceId) is not null => SenderDevice.Listed,
        var (_, _, highest) when sender.DeviceId <= highest => SenderDevice.Removed,
        _ => SenderDevice.Unknown,
    };

    /// <summary>A new session with one device from its prekey bundle, verified against the account; not stored yet.</summary>
    internal async Task<Session> InitiateAsync(DeviceAddress device, CancellationToken ct)
    {
        var bundle = _unusedBundles.TryRemove(device, out var fetched)
            ? fetched
            : (await _session.CallServerAsync(api => api.FetchBundleAsync(device.AccountId, device.DeviceId, ct), device.AccountId)).ToBundle();
        try
        {
            bundle.Verify(device.AccountId);
            var known = await _session.WithStoreAsync(database => KnownIdentity(database, device.AccountId));
            if (known is not null && !known.Equals(bundle.Identity))
            {
                throw new ProtocolException(ProtocolError.IdentityMismatch, "The bundle's identity is not the one this account has.");
            }

            return Session.Initiate(_session.Identity, bundle, device.AccountId);
        }
        catch (ProtocolException exception)
        {
            throw new UntrustedKeysException(device.AccountId, exception);
        }
    }

    private DeviceListChange Accept(ProfileDatabase database, DeviceList list, byte[] signature, DeviceList? before)
    {
        var change = before is null
            ? new DeviceListChange(list.Devices, [])
            : new DeviceListChange([.. list.Devices.Where(d => before.Find(d.DeviceId) is not { } b || !b.Same(d))],
                [.. before.Devices.Where(b => list.Find(b.DeviceId) is not { } d || !d.Same(b))]);
        database.DeviceLists.Save(list, signature);
        // Queued envelopes for a removed device stay until the next delivery completes the fan-out
        // (Outbox.DeliverAsync): they hold the inner message, the only copy when every device it was
        // queued for is gone and the account's new devices still need it.
        foreach (var removed in change.Removed)
        {
            database.Sessions.Delete(new DeviceAddress(list.AccountId, removed.DeviceId));
        }

        // Before a contact's first list, the devices we had sessions with stand for what we knew of it.
        var knownBefore = before?.Devices.Select(d => d.DeviceId).ToList() ?? database.Sessions.DevicesOf(list.AccountId);
        if (knownBefore.Count > 0 && database.Contacts.Find(list.AccountId) is { } contact)
        {
            var now = _session.Time.GetUtcNow();
            foreach (var added in change.Added.Where(d => before is not null || !knownBefore.Contains(d.DeviceId)))
            {
                database.Messages.Add(contact.AccountId, MessageDirection.In, MessageKind.DeviceAdded, MessageStatus.Received, Guid.NewGuid(),
                    $"added a device on {added.AddedAt.UtcDateTime:yyyy-MM-dd HH:mm} UTC", now, now);
            }
        }

        return change;
    }

    // The identity an account is known by here: ours, a contact's, a requester's, or the one its sessions are with.
    private PublicIdentity? KnownIdentity(ProfileDatabase database, string accountId)
    {
        if (accountId == _session.Profile.AccountId)
        {
            return _session.Profile.PublicIdentity;
        }

        return database.Contacts.Find(accountId)?.PublicIdentity
            ?? database.Requests.Find(accountId)?.PublicIdentity
            ?? database.Sessions.DevicesOf(accountId).Select(d => database.Sessions.Load(new DeviceAddress(accountId, d))?.RemoteIdentity).FirstOrDefault(i => i is not null);
    }

    // An account we know nothing of yet (a first invite, a group member): its identity is the one its
    // id certifies, which any of its bundles carries.
    private async Task<PublicIdentity> IdentityFromBundleAsync(string accountId, uint deviceId, CancellationToken ct)
    {
        var bundle = (await _session.CallServerAsync(api => api.FetchBundleAsync(accountId, deviceId, ct), accountId)).ToBundle();
        try
        {
            bundle.Verify(accountId);
            _unusedBundles[new DeviceAddress(accountId, deviceId)] = bundle;
            return bundle.Identity;
        }
        catch (ProtocolException exception)
        {
            throw new UntrustedKeysException(accountId, exception);
        }
    }
}
