using Pigeon.Messaging.Delivery;
using Pigeon.Messaging.Devices;
using Pigeon.Messaging.Groups;
using Pigeon.Messaging.Profiles;
using Pigeon.Messaging.Store;
using Pigeon.Protocol;
using Pigeon.Protocol.Envelope;
using Pigeon.Protocol.Delivery;
using Pigeon.Protocol.Fingerprints;
using Pigeon.Protocol.Identity;

namespace Pigeon.Messaging.Contacts;

/// <summary>
/// Contacts and contact requests. An invitation is the first message of a session and carries our
/// name; accepting a request makes a contact on both sides, declining forgets it. Contacts are named
/// by account id or by display name (case-insensitive); an ambiguous name is refused.
/// </summary>
public sealed class ContactBook
{
    private readonly ProfileSession _session;

    internal ContactBook(ProfileSession session) => _session = session;

    /// <summary>Every contact, by name.</summary>
    public Task<List<ContactRow>> AllAsync() => _session.WithStoreAsync(database => database.Contacts.All());

    /// <summary>Every pending request, oldest first.</summary>
    public Task<List<RequestRow>> RequestsAsync() => _session.WithStoreAsync(database => database.Requests.All());

    /// <summary>The last <paramref name="limit"/> items of history with a contact, oldest first.</summary>
    public async Task<(ContactRow Contact, List<MessageRow> Messages)> HistoryAsync(string reference, int limit)
    {
        var contact = await ResolveAsync(reference);
        await _session.DeleteExpiredMessagesAsync();
        return (contact, await _session.WithStoreAsync(database => database.Messages.History(contact.AccountId, limit)));
    }

    /// <summary>How many texts from each contact are unread (contacts with none are left out).</summary>
    public Task<Dictionary<string, int>> UnreadCountsAsync() => _session.WithStoreAsync(database => database.Receipts.UnreadCounts());

    /// <summary>
    /// Marks every unread text from <paramref name="contact"/> read, here and on our other devices, and,
    /// unless read receipts are off, tells them. The receipt is committed before it is deposited; one
    /// the server does not take now goes with the next delivery. Returns the ids marked.
    /// </summary>
    public async Task<List<Guid>> MarkReadAsync(ContactRow contact, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(contact);
        var settings = await _session.GetSettingsAsync();
        var read = await _session.Outbox.MarkReadAsync(contact.AccountId, ct);
        if (read.Count > 0 && settings.ReadReceipts && contact.State == ContactState.Accepted)
        {
            await _session.Outbox.QueueReceiptAsync(contact.AccountId, InnerMessageType.Read, read);
        }

        if (read.Count > 0)
        {
            await _session.Outbox.DeliverOrKeepAsync(ct);
        }

        return read;
    }

    /// <summary>The contact with this account id or display name.</summary>
    /// <exception cref="AmbiguousNameException">Several contacts go by the name.</exception>
    /// <exception cref="ContactNotFoundException">None does (it names a pending request from them, if any).</exception>
    public Task<ContactRow> ResolveAsync(string reference) => _session.WithStoreAsync(database =>
    {
        var contacts = database.Contacts.All();
        if (contacts.Find(c => c.AccountId == reference) is { } byId)
        {
            return byId;
        }

        var byName = contacts.Where(c => string.Equals(c.DisplayName, reference, StringComparison.OrdinalIgnoreCase)).ToList();
        return byName.Count switch
        {
            1 => byName[0],
            > 1 => throw new AmbiguousNameException(reference, NameList.Contacts, [.. byName.Select(c => c.AccountId)]),
            _ => throw new ContactNotFoundException(reference, database.Requests.All()
                .Find(r => r.AccountId == reference || string.Equals(r.DisplayName, reference, StringComparison.OrdinalIgnoreCase))),
        };
    });

    /// <summary>
    /// Fetches the account's keys, checks they are that account's, starts a session and sends a contact
    /// request carrying our name and <paramref name="message"/>.
    /// </summary>
    public async Task<ContactRow> InviteAsync(string accountId, string? message, CancellationToken ct)
    {
        if (!AccountId.IsWellFormed(accountId))
        {
            throw new InviteRefusedException(accountId, InviteRefusal.NotAnAccountId);
        }

        if (accountId == _session.Profile.AccountId)
        {
            throw new InviteRefusedException(accountId, InviteRefusal.OwnAccount);
        }

        await _session.WithStoreAsync(database =>
        {
            if (database.Contacts.Find(accountId) is { State: ContactState.Accepted } existing)
            {
                throw new InviteRefusedException(accountId, InviteRefusal.AlreadyContact, existing.Label);
            }

            if (database.Requests.Find(accountId) is not null)
            {
                throw new InviteRefusedException(accountId, InviteRefusal.AlreadyAskedYou);
            }

            if (database.Blocked.Contains(accountId))
            {
                throw new InviteRefusedException(accountId, InviteRefusal.Blocked);
            }
        });
        await _session.Devices.EnsureSessionsAsync([accountId, _session.Profile.AccountId], ct);
        var now = _session.Time.GetUtcNow();
        var contact = await _session.WithStoreAsync(database => database.InTransaction(() =>
        {
            var identity = database.Sessions.DevicesOf(accountId).Select(d => database.Sessions.Load(new DeviceAddress(accountId, d))?.RemoteIdentity).First(i => i is not null)!;
            var invited = new ContactRow(accountId, "", identity, ContactState.Invited, false, now, null);
            database.Contacts.Upsert(invited);
            QueueFirstMessage(database, accountId, message, now);
            QueueSync(database, ContactSync.Saved(database, invited), now);
            return invited;
        }));
        await _session.Outbox.DeliverAsync(ct);
        return contact;
    }

    /// <summary>
    /// Starts a new session with a contact who could not decrypt a message of our current one (their
    /// <see cref="Protocol.Envelope.DecryptionErrorNotice"/> named it): a new bundle, a new current
    /// session, and a contact request in it, which the contact's record adopts. Queued, not deposited.
    /// </summary>
    internal async Task RestartSessionAsync(DeviceAddress device, CancellationToken ct)
    {
        var session = await _session.Devices.InitiateAsync(device, ct);
        await _session.WithStoreAsync(database => database.InTransaction(() =>
        {
            var record = database.Sessions.Load(device) ?? new SessionRecord();
            record.Activate(session);
            database.Sessions.Save(device, record);
            QueueFirstMessage(database, device.AccountId, null, _session.Time.GetUtcNow());
        }));
    }

    /// <summary>Accepts a request: makes a contact and tells them, with our name.</summary>
    public async Task<ContactRow> AcceptAsync(string reference, CancellationToken ct)
    {
        var request = await FindRequestAsync(reference);
        // Reaching the server first means a server that is down leaves the profile as it was.
        await _session.CallServerAsync(api => api.SignInAsync(ct));
        await _session.Outbox.EnsureOwnSessionsAsync(ct);
        var contact = new ContactRow(request.AccountId, request.DisplayName, request.PublicIdentity, ContactState.Accepted, false, _session.Time.GetUtcNow(), null);
        await _session.Outbox.QueueAsync(request.AccountId, InnerMessageType.ContactAccepted, null, MessageKind.Accepted, database =>
        {
            database.Contacts.Upsert(contact);
            database.Requests.Delete(request.AccountId);
            QueueSync(database, ContactSync.Saved(database, contact), _session.Time.GetUtcNow());
        });
        await _session.Outbox.DeliverAsync(ct);
        return contact;
    }

    /// <summary>
    /// Declines a request: forgets it, its session, its delivery key and what it said, here and on our
    /// other devices. Nothing is sent to the requester.
    /// </summary>
    public async Task<RequestRow> DeclineAsync(string reference, CancellationToken ct)
    {
        var request = await FindRequestAsync(reference);
        await SyncHereAndOnOurDevicesAsync(new ContactSync(request.AccountId, ContactChange.Declined), ct);
        return request;
    }

    /// <summary>
    /// Removes a contact: forgets it, its sessions, its delivery key and the history with it, and
    /// revokes its ability to deposit to us sealed by rotating our delivery key (see
    /// <see cref="RotateDeliveryKeyAsync"/>). Nothing tells the removed contact; a later request from
    /// it arrives as from a stranger.
    /// </summary>
    public async Task<ContactRow> RemoveAsync(string reference, CancellationToken ct)
    {
        var contact = await ResolveAsync(reference);
        await RotateDeliveryKeyAsync(database => ApplyAndQueue(database, new ContactSync(contact.AccountId, ContactChange.Removed)), ct);
        return contact;
    }

    /// <summary>
    /// Blocks a contact, a requester or any account id: forgets what is kept under it (as
    /// <see cref="RemoveAsync"/>; a contact's removal rotates our delivery key) and drops its envelopes
    /// from then on, unread and unanswered. Returns the blocked account id and the name it had.
    /// </summary>
    public async Task<(string AccountId, string? Name)> BlockAsync(string reference, CancellationToken ct)
    {
        var known = await _session.WithStoreAsync(database =>
        {
            var contact = database.Contacts.All().Find(c => c.AccountId == reference || string.Equals(c.DisplayName, reference, StringComparison.OrdinalIgnoreCase));
            var request = database.Requests.All().Find(r => r.AccountId == reference || string.Equals(r.DisplayName, reference, StringComparison.OrdinalIgnoreCase));
            return (Contact: contact, Request: request);
        });
        if (known.Contact is not null)
        {
            var contact = await ResolveAsync(reference);
            await RotateDeliveryKeyAsync(database => ApplyAndQueue(database, new ContactSync(contact.AccountId, ContactChange.Blocked)), ct);
            return (contact.AccountId, contact.Label);
        }

        var accountId = known.Request is not null ? (await FindRequestAsync(reference)).AccountId : reference;
        if (!AccountId.IsWellFormed(accountId) || accountId == _session.Profile.AccountId)
        {
            throw new ContactNotFoundException(reference, null);
        }

        // A requester never had our delivery key (it comes with our invitation or acceptance): nothing to rotate.
        await SyncHereAndOnOurDevicesAsync(new ContactSync(accountId, ContactChange.Blocked), ct);
        return (accountId, known.Request?.DisplayName);
    }

    /// <summary>Unblocks an account, here and on our other devices. Nothing else comes back: invite it again to talk.</summary>
    /// <exception cref="NotBlockedException">It was not blocked.</exception>
    public async Task UnblockAsync(string accountId, CancellationToken ct)
    {
        if (!await _session.WithStoreAsync(database => database.Blocked.Contains(accountId)))
        {
            throw new NotBlockedException(accountId);
        }

        await SyncHereAndOnOurDevicesAsync(new ContactSync(accountId, ContactChange.Unblocked), ct);
    }

    /// <summary>Every blocked account.</summary>
    public Task<List<BlockedRow>> BlockedAsync() => _session.WithStoreAsync(database => database.Blocked.All());

    /// <summary>
    /// Bounds what strangers leave behind: forgets requests older than <see cref="RequestRetention"/>
    /// (with their sessions and keys), session records of accounts that are neither contacts nor
    /// requests, and strangers' failed items of the same age. Part of <see cref="ProfileSession.MaintainAsync"/>.
    /// </summary>
    internal Task PruneStrangersAsync() => _session.WithStoreAsync(database => database.InTransaction(() =>
    {
        var before = _session.Time.GetUtcNow() - RequestRetention;
        foreach (var accountId in database.Requests.ReceivedBefore(before))
        {
            database.ForgetAccount(accountId);
        }

        var known = database.KnownAccounts();
        // The members of a group we are in are reached from the group (ADR 0004), and a group's
        // history is no stranger's: both stay. So do the sessions with our own other devices.
        var me = _session.Profile.AccountId;
        known.Add(me);
        var groups = database.Groups.All();
        known.UnionWith(groups.Where(log => log.Current.HasMember(me)).SelectMany(log => log.Current.Members.Select(m => m.AccountId)));
        database.Sessions.DeleteStrangers(known);
        database.Messages.DeleteStrangersBefore(before, new HashSet<string>([.. known, .. groups.Select(log => GroupBook.Conversation(log.Current))]));
    }));

    /// <summary>How long a request that was neither accepted nor declined is kept.</summary>
    public static readonly TimeSpan RequestRetention = TimeSpan.FromDays(30);

    // A change that needs no server, applied here and, in the same transaction, queued for our other
    // devices (which apply the same sync), then delivered when the server can be reached.
    private async Task SyncHereAndOnOurDevicesAsync(ContactSync sync, CancellationToken ct)
    {
        await _session.Outbox.EnsureOwnSessionsAsync(ct);
        await _session.WithStoreAsync(database => database.InTransaction(() => ApplyAndQueue(database, sync)));
        await _session.Outbox.DeliverOrKeepAsync(ct);
    }

    // Does here what our other devices will do with the sync, and queues it for them. Call inside a transaction.
    private void ApplyAndQueue(ProfileDatabase database, ContactSync sync)
    {
        var now = _session.Time.GetUtcNow();
        sync.Apply(database, now);
        QueueSync(database, sync, now);
    }

    // Tells our other devices what this one did with a contact (ContactSync). Call inside a transaction.
    private void QueueSync(ProfileDatabase database, ContactSync sync, DateTimeOffset now) =>
        _session.Outbox.QueueForOwnDevices(database, _session.Outbox.Compose(database, InnerMessageType.ContactSync, null, now) with { Contact = sync }, now);

    /// <summary>
    /// Makes our next delivery key and registers its verifier (the server first, so a server that is
    /// down leaves the profile as it was; from then on the old key is refused), then in one transaction
    /// does <paramref name="change"/>, stores the new key and queues it, in a key update, for every
    /// remaining contact and our other devices, and delivers. A contact that deposits with the old key before its update
    /// arrives is refused, forgets it and deposits identified once (<see cref="Outbox.DeliverAsync"/>).
    /// </summary>
    internal async Task RotateDeliveryKeyAsync(Action<ProfileDatabase> change, CancellationToken ct)
    {
        await _session.Outbox.EnsureOwnSessionsAsync(ct);
        var own = _session.Profile.AccountId;
        var current = await _session.WithStoreAsync(database => database.DeliveryKeys.Load(own));
        var next = current?.Rotate() ?? DeliveryKey.Generate(1);
        await _session.CallServerAsync(api => api.SetDeliveryKeyVerifierAsync(next.Epoch, next.Verifier(own), ct));
        await _session.WithStoreAsync(database => database.InTransaction(() =>
        {
            change(database);
            database.DeliveryKeys.Save(own, next);
            var now = _session.Time.GetUtcNow();
            foreach (var contact in database.Contacts.All())
            {
                if (database.Sessions.DevicesOf(contact.AccountId).Count > 0)
                {
                    _session.Outbox.Queue(database, contact.AccountId, Guid.NewGuid(), InnerMessageType.DeliveryKeyUpdate, null, now);
                }
            }

            _session.Outbox.QueueForOwnDevices(database, _session.Outbox.Compose(database, InnerMessageType.DeliveryKeyUpdate, null, now), now);
        }));
        await _session.Outbox.DeliverAsync(ct);
    }

    /// <summary>
    /// Sets the disappearing-message timer of the conversation with a contact (null: off) and tells
    /// them, inside the encrypted channel, so both sides keep each later message as long. The change
    /// stays in the history of both.
    /// </summary>
    public async Task<ContactRow> SetTimerAsync(string reference, TimeSpan? timer, CancellationToken ct)
    {
        if (!DisappearingTimer.IsValid(timer))
        {
            throw new ArgumentOutOfRangeException(nameof(timer), timer, $"A timer is off or from one second to {DisappearingTimer.Format(DisappearingTimer.Longest)}.");
        }

        var contact = await ResolveAsync(reference);
        // Reaching the server first means a server that is down leaves the profile as it was.
        await _session.CallServerAsync(api => api.SignInAsync(ct));
        await _session.Outbox.EnsureOwnSessionsAsync(ct);
        await _session.Outbox.QueueAsync(contact.AccountId, InnerMessageType.Timer, null, MessageKind.Timer, database =>
        {
            var changed = database.Contacts.Find(contact.AccountId)! with { Timer = timer };
            database.Contacts.Upsert(changed);
            QueueSync(database, ContactSync.Saved(database, changed), _session.Time.GetUtcNow());
        }, timer);
        await _session.Outbox.DeliverAsync(ct);
        return contact with { Timer = timer };
    }

    /// <summary>The 60-digit safety number with a contact.</summary>
    public async Task<(ContactRow Contact, string SafetyNumber)> SafetyNumberAsync(string reference)
    {
        var contact = await ResolveAsync(reference);
        return (contact, SafetyNumber.Compute(_session.Profile.PublicIdentity, contact.PublicIdentity));
    }

    /// <summary>Marks a contact's identity as checked in person, here and on our other devices.</summary>
    public async Task MarkVerifiedAsync(ContactRow contact, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(contact);
        await _session.Outbox.EnsureOwnSessionsAsync(ct);
        await _session.WithStoreAsync(database => database.InTransaction(() =>
        {
            var verified = database.Contacts.Find(contact.AccountId)! with { Verified = true };
            database.Contacts.Upsert(verified);
            QueueSync(database, ContactSync.Saved(database, verified), _session.Time.GetUtcNow());
        }));
        await _session.Outbox.DeliverOrKeepAsync(ct);
    }

    // The first message of the sessions we started: a request with our name and delivery key, to every
    // device of the account. A session started again with a device makes the new one current; the old
    // ones stay archived.
    private void QueueFirstMessage(ProfileDatabase database, string accountId, string? message, DateTimeOffset now)
    {
        var messageId = Guid.NewGuid();
        _session.Outbox.QueueFor(database, accountId, messageId, _session.Outbox.Compose(database, InnerMessageType.ContactRequest, message, now), now);
        database.Messages.Add(accountId, MessageDirection.Out, MessageKind.Request, MessageStatus.Queued, messageId, message, now, now);
    }

    private Task<RequestRow> FindRequestAsync(string reference) => _session.WithStoreAsync(database =>
    {
        var requests = database.Requests.All();
        var matches = requests.Where(r => r.AccountId == reference).ToList();
        if (matches.Count == 0)
        {
            matches = [.. requests.Where(r => string.Equals(r.DisplayName, reference, StringComparison.OrdinalIgnoreCase))];
        }

        return matches.Count switch
        {
            1 => matches[0],
            0 => throw new RequestNotFoundException(reference),
            _ => throw new AmbiguousNameException(reference, NameList.Requests, [.. matches.Select(r => r.AccountId)]),
        };
    });
}
