using Pigeon.Api;
using Pigeon.Messaging.Attachments;
using Pigeon.Messaging.Devices;
using Pigeon.Messaging.Groups;
using Pigeon.Messaging.Profiles;
using Pigeon.Messaging.Store;
using Pigeon.Protocol;
using Pigeon.Protocol.Envelope;
using SealedEnvelope = Pigeon.Protocol.Envelope.SealedEnvelope;

namespace Pigeon.Messaging.Delivery;

/// <summary>
/// What arrives. Each poll long-polls the mailbox, and every envelope is decrypted and committed
/// (session, history, processed id) in one transaction before it is acknowledged. The poll carries
/// the acknowledgements still pending, so a receive loop acknowledges each batch on its next poll
/// rather than with a request of its own; <see cref="AcknowledgeAsync"/> posts what is left. A
/// redelivered envelope is recognised by its id; one that does not decrypt or make sense is recorded
/// as failed and acknowledged, so it never blocks the queue.
/// </summary>
public sealed class Inbox
{
    /// <summary>How long a receive loop that is ending may spend acknowledging what it stored.</summary>
    public static readonly TimeSpan AcknowledgeOnLeaveTimeout = TimeSpan.FromSeconds(10);

    /// <summary>How long the ids of processed envelopes are kept to recognise redeliveries.</summary>
    public static readonly TimeSpan ProcessedIdRetention = TimeSpan.FromDays(30);

    private readonly ProfileSession _session;
    private readonly Lock _pendingLock = new();

    // Ids of envelopes committed locally whose deletion the server has not confirmed yet, oldest first.
    private readonly List<Guid> _pendingAcknowledgements = [];

    internal Inbox(ProfileSession session) => _session = session;

    /// <summary>
    /// When true (the daemon's manual mode), every text, request and acceptance stored is also held,
    /// in the same transaction, until <see cref="ReleaseAsync"/>: an integration that crashed gets it
    /// again from <see cref="HeldAsync"/>.
    /// </summary>
    public bool HoldForIntegration { get; set; }

    /// <summary>The held messages, oldest first, as the events that brought them.</summary>
    public Task<List<ReceivedEvent>> HeldAsync() => _session.WithStoreAsync(database => database.Held.All().ConvertAll(held =>
    {
        var (m, name) = held;
        var kind = m.Kind switch
        {
            MessageKind.Request when database.Requests.Find(m.ContactId) is not null => ReceivedKind.Request,
            MessageKind.Request or MessageKind.Accepted => ReceivedKind.Accepted,
            _ => ReceivedKind.Text,
        };
        return new ReceivedEvent(kind, m.MessageId, m.ContactId, name, m.Body, m.SentAt, m.At);
    }));

    /// <summary>Releases held messages; returns the ids that were not held (unknown, or released before).</summary>
    public Task<List<Guid>> ReleaseAsync(IReadOnlyCollection<Guid> messageIds) =>
        _session.WithStoreAsync(database => database.InTransaction(() => messageIds.Where(id => !database.Held.Remove(id)).ToList()));

    /// <summary>How many stored envelopes the server has not yet confirmed deleting.</summary>
    public int PendingAcknowledgements
    {
        get
        {
            lock (_pendingLock)
            {
                return _pendingAcknowledgements.Count;
            }
        }
    }

    /// <summary>
    /// Receives once after <paramref name="after"/> (waiting up to <paramref name="wait"/> when nothing
    /// is there), carrying the pending acknowledgements (or posting them first, when more than one poll
    /// may carry), and decrypts and commits each envelope. This batch's ids stay pending until the next
    /// poll or <see cref="AcknowledgeAsync"/>. One receive loop at a time.
    /// </summary>
    public async Task<PollResult> PollAsync(long after, TimeSpan wait, CancellationToken ct)
    {
        var carried = Pending();
        if (carried.Length > ApiLimits.MaxReceiveBatch)
        {
            await AcknowledgeAsync(ct);
            carried = [];
        }

        var response = await _session.CallServerAsync(api => api.ReceiveAsync(after, wait, carried, ct: ct));
        // The server commits the deletion before it starts to wait, so an answer confirms it. When the
        // poll fails the ids stay pending: a repeated acknowledgement deletes nothing more.
        Forget(carried);
        var events = new List<ReceivedEvent>();
        var duplicates = 0;
        var followUps = new FollowUps();
        foreach (var envelope in response.Envelopes)
        {
            var outcome = await _session.WithStoreAsync(database => database.InTransaction(() => Process(database, envelope, followUps)));
            lock (_pendingLock)
            {
                _pendingAcknowledgements.Add(envelope.MessageId);
            }

            if (outcome.Duplicate)
            {
                duplicates++;
            }
            else if (outcome.Event is { } received)
            {
                events.Add(received);
            }
        }

        await FollowUpAsync(followUps, ct);
        var last = response.Envelopes.Count > 0 ? response.Envelopes.Max(e => e.Sequence) : after;
        return new PollResult(events, duplicates, last, response.HasMore);
    }

    /// <summary>
    /// Acknowledges every pending id with <c>POST /v1/messages/ack</c>; returns how many envelopes the
    /// server deleted (fewer than were pending when a poll had already carried some before it failed).
    /// </summary>
    public async Task<int> AcknowledgeAsync(CancellationToken ct)
    {
        var deleted = 0;
        foreach (var chunk in Pending().Chunk(ApiLimits.MaxAckBatch))
        {
            deleted += (await _session.CallServerAsync(api => api.AckAsync(chunk, ct))).Acknowledged;
            Forget(chunk);
        }

        return deleted;
    }

    /// <summary>
    /// <see cref="AcknowledgeAsync"/> for a receive loop that is ending, usually because its token was
    /// cancelled: it runs regardless, for at most <see cref="AcknowledgeOnLeaveTimeout"/>, and says so
    /// with an <see cref="AcknowledgementPendingException"/> when the server did not confirm.
    /// </summary>
    public async Task AcknowledgeBeforeLeavingAsync()
    {
        using var timeout = new CancellationTokenSource(AcknowledgeOnLeaveTimeout, _session.Time);
        try
        {
            await AcknowledgeAsync(timeout.Token);
        }
        catch (OperationCanceledException exception) when (timeout.IsCancellationRequested)
        {
            throw new AcknowledgementPendingException(_session.Server, PendingAcknowledgements, AcknowledgeOnLeaveTimeout, exception);
        }
    }

    /// <summary>Forgets the ids of envelopes processed more than <see cref="ProcessedIdRetention"/> ago: the server redelivers only until the acknowledgement.</summary>
    internal Task ForgetOldProcessedIdsAsync() =>
        _session.WithStoreAsync(database => database.Processed.Prune(_session.Time.GetUtcNow() - ProcessedIdRetention));

    // Restarts sessions that contacts said broke, sends again in the new session the texts they could
    // not read, and deposits the notices queued for them. Whatever fails here stays for later: the
    // notices wait in the outbox, and a contact whose session did not restart will send another
    // notice with their next failure.
    private async Task FollowUpAsync(FollowUps followUps, CancellationToken ct)
    {
        if (!followUps.NoticesQueued && followUps.Restarts.Count == 0 && followUps.Delivered.Count == 0 && followUps.ListsToRefresh.Count == 0)
        {
            return;
        }

        try
        {
            foreach (var accountId in followUps.ListsToRefresh)
            {
                await _session.Devices.RefreshAsync(accountId, ct);
            }

            foreach (var device in followUps.Restarts)
            {
                await _session.Contacts.RestartSessionAsync(device, ct);
            }

            foreach (var (accountId, messageId) in followUps.Resends)
            {
                await _session.Outbox.ResendAsync(accountId, messageId);
            }

            foreach (var (accountId, messageIds) in followUps.Delivered)
            {
                await _session.Outbox.QueueReceiptAsync(accountId, InnerMessageType.Delivered, messageIds);
            }

            await _session.Outbox.DeliverAsync(ct);
        }
        catch (MessagingException)
        {
            // See above: nothing received is lost, and the receive loop goes on.
        }
    }

    private Outcome Process(ProfileDatabase database, IncomingEnvelope envelope, FollowUps followUps)
    {
        var now = _session.Time.GetUtcNow();
        if (database.Processed.Contains(envelope.MessageId))
        {
            return Outcome.Redelivered;
        }

        database.Processed.Add(envelope.MessageId, now);
        OpenedEnvelope opened;
        try
        {
            opened = SealedEnvelope.Open(_session.Identity, _session.Address, envelope.Payload);
        }
        catch (ProtocolException exception)
        {
            // Nothing proves who sent it, so nobody is named: "unknown".
            return Failed(database, envelope, null, $"could not be decrypted (envelope: {exception.Reason})", now);
        }

        var from = opened.Sender;
        var sender = from.AccountId;
        if (database.Blocked.Contains(sender))
        {
            // Proven to come from a blocked account: dropped unread, unanswered and unrecorded.
            return Outcome.Nothing;
        }

        var standing = DeviceBook.Standing(database, from);
        if (standing == SenderDevice.Removed)
        {
            // It holds the account's identity still, but its account took it off the signed list.
            return Failed(database, envelope, sender, $"came from its device {from.DeviceId}, which the account removed (even one sent before the removal is refused once this device has the new list)", now);
        }

        if (standing == SenderDevice.Unknown)
        {
            followUps.ListsToRefresh.Add(sender);
        }

        if (opened.ContentType == EnvelopeContentType.DecryptionErrorNotice)
        {
            return Noticed(database, envelope, from, opened.Content, now, followUps);
        }

        SessionRecord record;
        SessionRecordDecryption decrypted;
        try
        {
            (record, decrypted) = Decrypt(database, opened, now);
        }
        catch (ProtocolException exception)
        {
            QueueNotice(database, envelope, opened, exception.Reason, now, followUps);
            return Failed(database, envelope, sender, $"could not be decrypted ({exception.Reason})", now);
        }

        var contact = database.Contacts.Find(sender);
        var request = database.Requests.Find(sender);
        // Only the sessions of contacts and requesters are kept: a stranger's message that is not a
        // request leaves nothing behind but the spent prekey and the replay memory.
        var known = contact is not null || request is not null;
        InnerMessage inner;
        try
        {
            inner = InnerMessage.Parse(decrypted.Plaintext);
        }
        catch (FormatException exception)
        {
            SaveIfKnown(database, from, record, known, now);
            return Failed(database, envelope, sender, $"decrypted but not understood ({exception.Message})", now);
        }

        if (sender == _session.Profile.AccountId)
        {
            return ProcessOwn(database, envelope, from, record, inner, now);
        }

        if (inner.Type is InnerMessageType.GroupUpdate or InnerMessageType.GroupText)
        {
            return ProcessGroup(database, envelope, from, record, known, inner, now);
        }

        switch (inner.Type)
        {
            case InnerMessageType.ContactRequest when contact is not null:
                // A contact started a new session, or both invited each other at once: the record keeps
                // the one both sides converge on (the lower base key) current.
                var identity = decrypted.Session.RemoteIdentity;
                var changed = !contact.PublicIdentity.Equals(identity);
                database.Contacts.Upsert(contact with
                {
                    State = ContactState.Accepted,
                    DisplayName = inner.SenderName,
                    PublicIdentity = identity,
                    Verified = contact.Verified && !changed,
                });
                break;
            case InnerMessageType.ContactRequest:
                if (request is null && database.Requests.Count() >= _session.Environment.MaxPendingRequests)
                {
                    database.ForgetAccount(database.Requests.All()[0].AccountId);
                }

                database.Requests.Upsert(new RequestRow(sender, inner.SenderName, decrypted.Session.RemoteIdentity, inner.Body, now));
                break;
            case InnerMessageType.ContactAccepted when contact is not null:
                database.Contacts.Upsert(contact with { State = ContactState.Accepted, DisplayName = inner.SenderName });
                break;
            case InnerMessageType.ContactAccepted:
                SaveIfKnown(database, from, record, known, now);
                return Failed(database, envelope, sender, "an acceptance from someone never invited", now);
            case InnerMessageType.Timer when contact is null:
                SaveIfKnown(database, from, record, known, now);
                return Failed(database, envelope, sender, "a timer from someone who is not a contact", now);
            case InnerMessageType.Timer:
                database.Contacts.Upsert(contact with { Timer = inner.Timer });
                break;
            case InnerMessageType.Text when !known:
                return Failed(database, envelope, sender, "a text from someone who is not a contact", now);
            case InnerMessageType.DeliveryKeyUpdate when !known:
                return Failed(database, envelope, sender, "a delivery key from someone who is not a contact", now);
            case InnerMessageType.DeliveryKeyUpdate:
                database.DeliveryKeys.Save(sender, inner.SenderDeliveryKey!);
                database.Sessions.Save(from, record);
                return Outcome.Nothing;
            case InnerMessageType.Delivered or InnerMessageType.Read or InnerMessageType.Typing when contact is null:
                SaveIfKnown(database, from, record, known, now);
                return Failed(database, envelope, sender, "a receipt or typing indicator from someone who is not a contact", now);
            case InnerMessageType.Delivered or InnerMessageType.Read:
                // Only our own messages to this contact: a receipt cannot mark what was sent to someone else.
                database.Sessions.Save(from, record);
                var ours = database.Messages.SentTo(sender, inner.MessageIds!);
                if (ours.Count == 0)
                {
                    // About messages another of our devices sent whose copies are not here (yet): nothing to show.
                    return Outcome.Nothing;
                }

                foreach (var id in ours)
                {
                    if (inner.Type == InnerMessageType.Read)
                    {
                        database.Receipts.Read(id, now);
                    }
                    else
                    {
                        database.Receipts.Delivered(id, now);
                    }
                }

                return new ReceivedEvent(inner.Type == InnerMessageType.Read ? ReceivedKind.Read : ReceivedKind.Delivered, envelope.MessageId, sender,
                    contact.Label, null, inner.SentAt, now, MessageIds: ours);
            case InnerMessageType.Typing:
                database.Sessions.Save(from, record);
                return new ReceivedEvent(ReceivedKind.Typing, envelope.MessageId, sender, contact.Label, null, inner.SentAt, now, IsTyping: inner.IsTyping);
            case InnerMessageType.Text when contact is { State: ContactState.Accepted }:
                followUps.Delivered.TryAdd(sender, []);
                followUps.Delivered[sender].Add(envelope.MessageId);
                break;
        }

        if (inner.SenderDeliveryKey is { } deliveryKey && inner.Type is InnerMessageType.ContactRequest or InnerMessageType.ContactAccepted)
        {
            database.DeliveryKeys.Save(sender, deliveryKey);
        }

        database.Sessions.Save(from, record);
        var kind = inner.Type switch
        {
            InnerMessageType.ContactRequest => MessageKind.Request,
            InnerMessageType.ContactAccepted => MessageKind.Accepted,
            InnerMessageType.Timer => MessageKind.Timer,
            _ => MessageKind.Text,
        };
        // A text is kept as long as the timer it carries says, from its arrival; a timer change stays.
        var body = kind == MessageKind.Timer ? DisappearingTimer.Format(inner.Timer) : inner.Body;
        var expiresAt = kind == MessageKind.Text ? now + inner.Timer : null;
        var attachment = kind == MessageKind.Text ? inner.Attachment : null;
        database.Messages.Add(sender, MessageDirection.In, kind, MessageStatus.Received, envelope.MessageId, body, inner.SentAt, now, expiresAt,
            attachmentId: attachment?.AttachmentId);
        RecordReceivedAttachment(database, attachment, envelope.MessageId, sender, sender, inner.SenderName, now);
        if (HoldForIntegration)
        {
            database.Held.Add(envelope.MessageId, now);
        }

        var eventKind = kind switch
        {
            MessageKind.Request when contact is null => ReceivedKind.Request,
            MessageKind.Request or MessageKind.Accepted => ReceivedKind.Accepted,
            MessageKind.Timer => ReceivedKind.Timer,
            _ => ReceivedKind.Text,
        };
        return new ReceivedEvent(eventKind, envelope.MessageId, sender, inner.SenderName, body, inner.SentAt, now)
        {
            OnEarlierSession = decrypted.OpenedArchivedSession,
            Attachment = attachment,
        };
    }

    // From another of our own devices (issue 16): a copy of a text it sent shows here as sent, in the
    // conversation it went to; what it did with a contact, the messages it read, our new delivery key
    // and its group changes are applied here too; anything else from it only keeps the session going.
    private Outcome ProcessOwn(ProfileDatabase database, IncomingEnvelope envelope, DeviceAddress from, SessionRecord record, InnerMessage inner, DateTimeOffset now)
    {
        if (inner.Type == InnerMessageType.GroupUpdate)
        {
            return ProcessGroup(database, envelope, from, record, known: true, inner, now);
        }

        database.Sessions.Save(from, record);
        switch (inner.Type)
        {
            case InnerMessageType.ContactSync when inner.Contact!.AccountId == from.AccountId:
                return Failed(database, envelope, from.AccountId, "a contact change about our own account", now);
            case InnerMessageType.ContactSync:
                var saved = inner.Contact.Apply(database, now);
                return new ReceivedEvent(ReceivedKind.ContactSync, envelope.MessageId, inner.Contact.AccountId, saved?.Label, null, inner.SentAt, now)
                {
                    ContactChange = inner.Contact.Change,
                };
            case InnerMessageType.Read:
                foreach (var id in inner.MessageIds!.Where(id => database.Messages.FindIncoming(id) is not null))
                {
                    database.Receipts.Read(id, now);
                }

                return Outcome.Nothing;
            case InnerMessageType.DeliveryKeyUpdate:
                // Only forward: two devices that rotated at once keep the later epoch, which is also the server's.
                var own = from.AccountId;
                if (database.DeliveryKeys.Load(own) is not { } held || held.Epoch < inner.SenderDeliveryKey!.Epoch)
                {
                    database.DeliveryKeys.Save(own, inner.SenderDeliveryKey!);
                }

                return Outcome.Nothing;
            case not InnerMessageType.Sent:
                return Outcome.Nothing;
        }

        var conversation = inner.To is { } to
            ? database.Contacts.Find(to)?.AccountId
            : database.Groups.Find(Convert.ToHexStringLower(inner.GroupId!)) is { } log ? GroupBook.Conversation(log.Current) : null;
        if (conversation is null)
        {
            return Failed(database, envelope, from.AccountId, "a copy of a message our other device sent to someone this device does not know", now);
        }

        var expiresAt = inner.To is not null ? now + inner.Timer : null;
        database.Messages.Add(conversation, MessageDirection.Out, MessageKind.Text, MessageStatus.Sent, inner.MessageIds?.FirstOrDefault() ?? envelope.MessageId,
            inner.Body, inner.SentAt, now, expiresAt, author: inner.To is null ? from.AccountId : null, attachmentId: inner.Attachment?.AttachmentId);
        RecordReceivedAttachment(database, inner.Attachment, envelope.MessageId, conversation, from.AccountId, inner.SenderName, now);
        return new ReceivedEvent(ReceivedKind.Sent, envelope.MessageId, from.AccountId, inner.SenderName, inner.Body, inner.SentAt, now)
        {
            GroupId = inner.GroupId is { } g ? Convert.ToHexStringLower(g) : null,
            GroupTitle = inner.GroupId is not null ? database.Groups.Find(Convert.ToHexStringLower(inner.GroupId))?.Current.Title : null,
            SentToName = inner.To is { } contact ? database.Contacts.Find(contact)?.Label : null,
            Attachment = inner.Attachment,
            SentTo = inner.To,
        };
    }

    // A group update or text (ADR 0004). The pairwise session proves the sender; the group state
    // decides whether it may: only a member sends, only a valid successor (by an allowed author) changes
    // the group. A member who is no contact of ours has its session kept once the group says it is one.
    private Outcome ProcessGroup(ProfileDatabase database, IncomingEnvelope envelope, DeviceAddress from, SessionRecord record, bool known, InnerMessage inner, DateTimeOffset now)
    {
        var sender = from.AccountId;
        var me = _session.Profile.AccountId;
        var name = database.Contacts.Find(sender)?.Label ?? inner.SenderName;
        if (inner.Type == InnerMessageType.GroupText)
        {
            var log = database.Groups.Find(Convert.ToHexStringLower(inner.GroupId!));
            if (log is null || !log.Current.HasMember(sender))
            {
                SaveIfKnown(database, from, record, known || database.Groups.SharesGroupWith(sender, me), now);
                return Failed(database, envelope, sender, log is null
                    ? "a group message for a group we are not in"
                    : $"a group message from someone who is not a member of '{log.Current.Title}'", now);
            }

            database.Sessions.Save(from, record);
            if (!log.Current.HasMember(me))
            {
                // Sent before the sender learnt that we left or were removed: not ours to read any more.
                return Outcome.Nothing;
            }

            var group = log.Current;
            database.Messages.Add(GroupBook.Conversation(group), MessageDirection.In, MessageKind.Text, MessageStatus.Received, envelope.MessageId, inner.Body,
                inner.SentAt, now, author: sender, attachmentId: inner.Attachment?.AttachmentId);
            RecordReceivedAttachment(database, inner.Attachment, envelope.MessageId, GroupBook.Conversation(group), sender, inner.SenderName, now);
            if (HoldForIntegration)
            {
                database.Held.Add(envelope.MessageId, now);
            }

            return new ReceivedEvent(ReceivedKind.Text, envelope.MessageId, sender, name, inner.Body, inner.SentAt, now)
            {
                GroupId = group.IdHex,
                GroupTitle = group.Title,
                Attachment = inner.Attachment,
            };
        }

        GroupState state;
        try
        {
            state = inner.Group!.ToState(_session.Environment.MaxGroupMembers);
        }
        catch (GroupChangeException exception)
        {
            SaveIfKnown(database, from, record, known, now);
            return Failed(database, envelope, sender, $"a group update that is not valid ({exception.Message})", now);
        }

        if (state.Author != sender)
        {
            SaveIfKnown(database, from, record, known, now);
            return Failed(database, envelope, sender, "a group update sent by someone who did not make it", now);
        }

        var current = database.Groups.Find(state.IdHex);
        var before = current?.Current;
        var outcome = GroupUpdateOutcome.BecameCurrent;
        if (current is null)
        {
            if (!state.HasMember(me))
            {
                SaveIfKnown(database, from, record, known, now);
                return Failed(database, envelope, sender, "a group update for a group we are not in", now);
            }

            current = new GroupLog(state);
        }
        else
        {
            try
            {
                outcome = current.Accept(state);
                if (outcome == GroupUpdateOutcome.Known)
                {
                    database.Sessions.Save(from, record);
                    return Outcome.Nothing;
                }
            }
            catch (GroupChangeException exception)
            {
                SaveIfKnown(database, from, record, known || before!.HasMember(sender), now);
                return Failed(database, envelope, sender, $"a change to '{before!.Title}' that was refused ({exception.Message})", now);
            }
        }

        database.Sessions.Save(from, record);
        database.Groups.Save(current);
        foreach (var (accountId, key) in inner.MemberDeliveryKeys ?? new Dictionary<string, byte[]>())
        {
            if (accountId != me && current.Current.HasMember(accountId) && database.DeliveryKeys.Load(accountId) is null)
            {
                try
                {
                    database.DeliveryKeys.Save(accountId, Protocol.Delivery.DeliveryKey.FromBytes(key));
                }
                catch (ProtocolException)
                {
                    // A malformed key is only a missed shortcut: deposits to that member go identified.
                }
            }
        }

        var body = outcome switch
        {
            GroupUpdateOutcome.Held => $"{name} changed the group (held until the change it follows arrives)",
            GroupUpdateOutcome.Superseded => GroupBook.Describe(database, me, current.Accepted.FirstOrDefault(v => v.Hash.AsSpan().SequenceEqual(state.Base)) ?? before, state)
                + " (superseded by a concurrent change)",
            _ => GroupBook.Describe(database, me, before, current.Current),
        };
        var shown = current.Current;
        database.Messages.Add(GroupBook.Conversation(shown), MessageDirection.In, MessageKind.GroupChange, MessageStatus.Received, envelope.MessageId, body,
            inner.SentAt, now, author: sender);
        return new ReceivedEvent(ReceivedKind.GroupUpdate, envelope.MessageId, sender, name, body, inner.SentAt, now) { GroupId = shown.IdHex, GroupTitle = shown.Title };
    }

    // Only the record of the sender the envelope proves is tried, and within it only the session the
    // message names: a message can never be taken for another contact's. Session.Accept verifies the
    // identity of a new session (its signature included), and the record compares every later one with it.
    private (SessionRecord Record, SessionRecordDecryption Decrypted) Decrypt(ProfileDatabase database, OpenedEnvelope opened, DateTimeOffset now)
    {
        var record = database.Sessions.Load(opened.Sender) ?? new SessionRecord();
        var prekeys = database.Prekeys.Load();
        var decrypted = record.Decrypt(_session.Identity, prekeys, opened, now);
        if (decrypted.StartedNewSession)
        {
            database.Prekeys.Save(prekeys);
        }

        return (record, decrypted);
    }

    // Tells a contact that its message did not decrypt, sealed (the session may be what broke). Not for
    // a duplicate or a replayed setup: those are someone replaying, and answering would echo them.
    private void QueueNotice(ProfileDatabase database, IncomingEnvelope envelope, OpenedEnvelope opened, ProtocolError reason, DateTimeOffset now, FollowUps followUps)
    {
        var sender = opened.Sender.AccountId;
        if (reason is ProtocolError.DuplicateMessage or ProtocolError.ReplayedSetup || database.Contacts.Find(sender) is null || !opened.SenderIdentity.IsValid())
        {
            return;
        }

        var notice = DecryptionErrorNotice.For(envelope.MessageId, opened.Content, reason, now);
        var payload = SealedEnvelope.Seal(_session.Identity, _session.Profile.DeviceId, opened.SenderIdentity, opened.Sender,
            EnvelopeContentType.DecryptionErrorNotice, notice.ToBytes());
        database.Outbox.Add(new OutboxRow(Guid.NewGuid(), sender, payload, DeviceId: opened.Sender.DeviceId), now);
        followUps.NoticesQueued = true;
    }

    // A contact could not decrypt a message of ours. When it names our current session, that session
    // is broken on their side: start a new one. One it does not name (an older session) needs nothing.
    // The pointer is kept sealed beside the history item; a pointer to an id we already hold (a
    // sender repeating one) keeps what we have of it.
    private static void RecordReceivedAttachment(ProfileDatabase database, AttachmentPointer? attachment, Guid messageId, string conversation, string sender,
        string senderName, DateTimeOffset now)
    {
        if (attachment is null || database.Attachments.Find(attachment.AttachmentId) is not null)
        {
            return;
        }

        database.Attachments.Save(new AttachmentRow(attachment, messageId, conversation, MessageDirection.In, sender, senderName, AttachmentState.Offered, now));
    }

    private static ReceivedEvent Noticed(ProfileDatabase database, IncomingEnvelope envelope, DeviceAddress from, byte[] content, DateTimeOffset now, FollowUps followUps)
    {
        var sender = from.AccountId;
        DecryptionErrorNotice notice;
        try
        {
            notice = DecryptionErrorNotice.Parse(content);
        }
        catch (ProtocolException exception)
        {
            return Failed(database, envelope, sender, $"a decryption error notice that does not parse ({exception.Reason})", now);
        }

        var current = database.Sessions.Load(from)?.Current;
        if (current is not null && notice.Concerns(current) && database.Contacts.Find(sender) is not null)
        {
            followUps.Restarts.Add(from);
            if (notice.MessageId != Guid.Empty)
            {
                followUps.Resends.Add((sender, notice.MessageId));
            }

            return Failed(database, envelope, sender, $"the contact could not decrypt our message ({notice.Reason}); starting a new session and sending it again", now);
        }

        return Failed(database, envelope, sender, $"the contact could not decrypt our message ({notice.Reason}) of an older session", now);
    }

    private static ReceivedEvent Failed(ProfileDatabase database, IncomingEnvelope envelope, string? sender, string error, DateTimeOffset now)
    {
        database.Messages.Add(sender ?? "", MessageDirection.In, MessageKind.Failed, MessageStatus.Failed, envelope.MessageId, null, null, now);
        var name = sender is null ? null : database.Contacts.Find(sender)?.Label;
        return new ReceivedEvent(ReceivedKind.Failed, envelope.MessageId, sender, name, null, null, now, error);
    }

    private static void SaveIfKnown(ProfileDatabase database, DeviceAddress sender, SessionRecord record, bool known, DateTimeOffset now)
    {
        if (known)
        {
            database.Sessions.Save(sender, record);
        }
    }

    /// <summary>What processing one envelope gave: a redelivery, an event to report, or nothing to show.</summary>
    private readonly record struct Outcome(ReceivedEvent? Event, bool Duplicate)
    {
        public static Outcome Redelivered => new(null, true);

        public static Outcome Nothing => new(null, false);

        public static implicit operator Outcome(ReceivedEvent received) => new(received, false);
    }

    /// <summary>What a poll does after committing its envelopes.</summary>
    private sealed class FollowUps
    {
        public bool NoticesQueued { get; set; }

        public HashSet<DeviceAddress> Restarts { get; } = [];

        /// <summary>Accounts a device we did not know yet wrote from: their signed lists are fetched again.</summary>
        public HashSet<string> ListsToRefresh { get; } = new(StringComparer.Ordinal);

        // Texts stored from each contact, to confirm with one delivery receipt.
        public Dictionary<string, List<Guid>> Delivered { get; } = new(StringComparer.Ordinal);

        /// <summary>Texts of ours to send again once the contact's session restarted: (contact, envelope id).</summary>
        public HashSet<(string AccountId, Guid MessageId)> Resends { get; } = [];
    }

    private Guid[] Pending()
    {
        lock (_pendingLock)
        {
            return [.. _pendingAcknowledgements];
        }
    }

    private void Forget(IReadOnlyCollection<Guid> acknowledged)
    {
        if (acknowledged.Count == 0)
        {
            return;
        }

        var done = acknowledged.ToHashSet();
        lock (_pendingLock)
        {
            _pendingAcknowledgements.RemoveAll(done.Contains);
        }
    }
}
