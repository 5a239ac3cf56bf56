using System.Net;
using Pigeon.Api;
using Pigeon.Messaging.Attachments;
using Pigeon.Messaging.Devices;
using Pigeon.Messaging.Profiles;
using Pigeon.Messaging.Store;
using Pigeon.Protocol;
using Pigeon.Protocol.Envelope;
using SealedEnvelope = Pigeon.Protocol.Envelope.SealedEnvelope;

namespace Pigeon.Messaging.Delivery;

/// <summary>
/// What is sent. Every message is encrypted, then committed with its session state, its history item
/// and its ciphertext (table <c>outbox</c>) in one transaction, and only then deposited, so a ratchet
/// key is never used twice and nothing is lost: a ciphertext not deposited yet goes with the next
/// delivery.
/// </summary>
public sealed class Outbox
{
    /// <summary>The most envelopes one deposit to one recipient carries on the identified route (under <see cref="ApiLimits.MaxDepositBatch"/>, which a body of large envelopes would exceed).</summary>
    public const int DepositBatch = 50;

    /// <summary>
    /// The most payload bytes one sealed deposit to many recipients carries (with their base64 and
    /// JSON, well under the gateway's 2 MiB body limit): a group message to 256 members is one request.
    /// </summary>
    public const int SealedBatchPayloadBytes = 1024 * 1024;

    private readonly ProfileSession _session;

    internal Outbox(ProfileSession session) => _session = session;

    /// <summary>
    /// Encrypts and sends a text to a contact. The server is reached first (signing in), so a server
    /// that is down leaves the profile as it was; when it goes away between the commit and the deposit,
    /// the <see cref="ServerUnreachableException"/> says the message is saved.
    /// </summary>
    public Task<Guid> SendAsync(ContactRow contact, string text, CancellationToken ct) => SendAsync(contact, text, null, ct);

    /// <summary>
    /// <see cref="SendAsync(ContactRow, string, CancellationToken)"/> for a text that carries an uploaded
    /// file (<paramref name="text"/> is then its caption, and may be null); the pending upload becomes a
    /// sent attachment in the transaction that queues the message.
    /// </summary>
    internal async Task<Guid> SendAsync(ContactRow contact, string? text, AttachmentPointer? attachment, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(contact);
        await _session.CallServerAsync(api => api.SignInAsync(ct));
        await _session.Devices.EnsureSessionsAsync([contact.AccountId, _session.Profile.AccountId], ct);
        var messageId = await QueueAsync(contact.AccountId, InnerMessageType.Text, text, MessageKind.Text, null, attachment: attachment);
        try
        {
            await DeliverAsync(ct);
        }
        catch (ServerUnreachableException exception) when (exception is not AcknowledgementPendingException)
        {
            throw new ServerUnreachableException(exception.Server, exception.InnerException!) { MessageSaved = true };
        }

        return messageId;
    }

    /// <summary>
    /// Queues one inner message for each of <paramref name="recipients"/> (a group's members), with
    /// <paramref name="alsoInTransaction"/> (the history item) in the same transaction, and deposits
    /// them: sealed to every recipient whose delivery key we hold, in one request up to
    /// <see cref="ApiLimits.MaxDepositBatch"/> envelopes. Returns the envelope id per recipient.
    /// Every recipient needs a current session (<see cref="NoSessionException"/> otherwise, and nothing is queued).
    /// </summary>
    internal async Task<Dictionary<string, Guid>> SendToManyAsync(IReadOnlyCollection<string> recipients, Func<ProfileDatabase, DateTimeOffset, InnerMessage> compose,
        Action<ProfileDatabase, DateTimeOffset>? alsoInTransaction, CancellationToken ct)
    {
        await _session.CallServerAsync(api => api.SignInAsync(ct));
        await _session.Devices.EnsureSessionsAsync([.. recipients, _session.Profile.AccountId], ct);
        var envelopes = await _session.WithStoreAsync(database => database.InTransaction(() =>
        {
            var now = _session.Time.GetUtcNow();
            var inner = compose(database, now);
            alsoInTransaction?.Invoke(database, now);
            return recipients.Distinct().ToDictionary(recipient => recipient, recipient =>
            {
                var envelopeId = Guid.NewGuid();
                QueueFor(database, recipient, envelopeId, inner, now);
                return envelopeId;
            });
        }));
        try
        {
            await DeliverAsync(ct);
        }
        catch (ServerUnreachableException exception) when (exception is not AcknowledgementPendingException)
        {
            throw new ServerUnreachableException(exception.Server, exception.InnerException!) { MessageSaved = true };
        }

        return envelopes;
    }

    /// <summary>
    /// Deposits every queued ciphertext, each message to every device of its recipient in one request
    /// (our own other devices included, on the identified route: the server must know which of ours is
    /// sending to leave it out). Those to recipients whose delivery key we hold go sealed, without a
    /// token, many recipients per request (a group message is one request); the rest, and a sealed
    /// batch the server refuses, go per recipient: sealed when we hold the key, otherwise identified
    /// (first messages). A key the server no longer accepts is forgotten and the batch goes identified.
    /// Messages queued before a list was accepted are first fanned out again to the devices it names.
    /// When the server says a recipient's devices are not the ones addressed (409, 410), the recipient's
    /// signed list is fetched again and checked, the devices it gained get the same messages in new
    /// sessions, those it lost are dropped, and the deposit is tried again (each recipient's list is
    /// corrected once per delivery). A recipient the server
    /// refuses for good (400, 404) has its messages marked failed; the <see cref="DepositRefusedException"/> names it.
    /// </summary>
    public async Task<int> DeliverAsync(CancellationToken ct)
    {
        // Lists accepted since the messages were queued (a refresh on receipt, a removal) first.
        var incomplete = await _session.WithStoreAsync(IncompleteFanOut);
        if (incomplete.Count > 0)
        {
            await CompleteFanOutAsync(incomplete, ct);
        }

        var delivered = 0;
        // Each recipient's list is corrected once: a deposit can find the sender's own list stale after the contact's.
        var corrected = new HashSet<string>(StringComparer.Ordinal);
        while (true)
        {
            try
            {
                return delivered + await DepositQueuedAsync(ct, add: count => delivered += count);
            }
            catch (DepositRefusedException refused) when (refused.Problem.Devices.Any(d => !corrected.Contains(d.AccountId)))
            {
                var accounts = refused.Problem.Devices.Select(d => d.AccountId).Where(corrected.Add).ToHashSet(StringComparer.Ordinal);
                foreach (var account in accounts)
                {
                    await _session.Devices.RefreshAsync(account, ct);
                }

                await CompleteFanOutAsync(accounts, ct);
            }
        }
    }

    // The recipients some of whose queued messages are not addressed to exactly the devices their
    // accepted list names now.
    private HashSet<string> IncompleteFanOut(ProfileDatabase database)
    {
        var targets = new Dictionary<string, HashSet<uint>>(StringComparer.Ordinal);
        return database.Outbox.All().GroupBy(r => (r.MessageId, r.Recipient))
            .Where(message =>
            {
                var recipient = message.Key.Recipient;
                var devices = targets.TryGetValue(recipient, out var known) ? known : targets[recipient] = [.. _session.Devices.Targets(database, recipient)];
                return !devices.SetEquals(message.Select(r => r.DeviceId));
            })
            .Select(message => message.Key.Recipient).ToHashSet(StringComparer.Ordinal);
    }

    // Every queued message gets an envelope for each device its recipient's accepted list names, in a
    // session of its own (fetched from the device's bundle when there is none yet), from the inner
    // message the queued envelopes keep; envelopes for devices the list no longer names are dropped.
    private async Task CompleteFanOutAsync(ISet<string> accounts, CancellationToken ct)
    {
        await _session.Devices.EnsureSessionsAsync(accounts, ct);
        await _session.WithStoreAsync(database => database.InTransaction(() =>
        {
            var now = _session.Time.GetUtcNow();
            foreach (var message in database.Outbox.All().Where(r => accounts.Contains(r.Recipient)).GroupBy(r => (r.MessageId, r.Recipient)))
            {
                var targets = _session.Devices.Targets(database, message.Key.Recipient);
                foreach (var row in message.Where(r => !targets.Contains(r.DeviceId)))
                {
                    database.Outbox.Remove(row);
                }

                var first = message.First();
                foreach (var device in targets.Where(d => message.All(r => r.DeviceId != d)))
                {
                    if (first.Inner is null || database.Sessions.Load(new DeviceAddress(first.Recipient, device)) is not { Current: not null } record)
                    {
                        continue;
                    }

                    var address = new DeviceAddress(first.Recipient, device);
                    var payload = Seal(record.Current!, first.Inner, address);
                    database.Sessions.Save(address, record);
                    database.Outbox.Add(first with { DeviceId = device, Payload = payload }, now);
                }
            }
        }));
    }

    private async Task<int> DepositQueuedAsync(CancellationToken ct, Action<int> add)
    {
        var own = _session.Profile.AccountId;
        var queued = await _session.WithStoreAsync(database => database.Outbox.All());
        var keys = await _session.WithStoreAsync(database =>
            queued.Select(q => q.Recipient).Distinct().ToDictionary(r => r, r => r == own ? null : database.DeliveryKeys.Load(r)?.ToBytes()));
        var delivered = 0;
        var oneByOne = new HashSet<OutboxRow>(queued.Where(q => keys[q.Recipient] is null));
        foreach (var batch in SealedBatches(queued.Where(q => keys[q.Recipient] is not null)))
        {
            var deposited = await _session.CallServerAsync(async api =>
            {
                try
                {
                    await api.DepositSealedAsync([.. batch.Select(q => new Api.SealedEnvelope(q.Recipient, keys[q.Recipient]!, q.MessageId, q.Payload, LifetimeSeconds(q), q.DeviceId))], ct);
                    return true;
                }
                catch (PigeonApiException exception) when (!exception.IsTransient)
                {
                    // One recipient's stale key, devices or refusal fails the whole batch: sort it out per
                    // recipient below. A key refused in a batch to one recipient is that recipient's: forgotten now.
                    var recipients = batch.Select(q => q.Recipient).Distinct().ToList();
                    if (recipients.Count == 1 && exception.Status == HttpStatusCode.Unauthorized && exception.Type == ProblemTypes.DeliveryRefused)
                    {
                        await _session.WithStoreAsync(database => database.DeliveryKeys.Delete(recipients[0]));
                    }

                    return false;
                }
            });
            if (!deposited)
            {
                oneByOne.UnionWith(batch);
                continue;
            }

            await CompleteAsync(batch);
            delivered += batch.Count;
            add(batch.Count);
        }

        foreach (var group in queued.Where(oneByOne.Contains).GroupBy(q => q.Recipient))
        {
            var units = Units(group);
            var unitsPerBatch = DepositBatch / Math.Max(1, units.Max(u => u.Count));
            foreach (var batch in units.Chunk(unitsPerBatch).Select(chunk => chunk.SelectMany(u => u).ToArray()))
            {
                await _session.CallServerAsync(async api =>
                {
                    try
                    {
                        await DepositAsync(api, group.Key, batch, ct);
                    }
                    catch (PigeonApiException exception) when (!exception.IsTransient)
                    {
                        if (exception.Status is HttpStatusCode.NotFound or HttpStatusCode.BadRequest)
                        {
                            await _session.WithStoreAsync(database => database.InTransaction(() =>
                            {
                                foreach (var row in batch)
                                {
                                    database.Messages.SetStatus(row.MessageId, MessageStatus.Failed);
                                    database.Outbox.Remove(row);
                                }
                            }));
                        }

                        throw new DepositRefusedException(group.Key, exception);
                    }
                });
                await CompleteAsync(batch);
                delivered += batch.Length;
                add(batch.Length);
            }
        }

        return delivered;
    }

    private Task CompleteAsync(IReadOnlyCollection<OutboxRow> rows) => _session.WithStoreAsync(database => database.InTransaction(() =>
    {
        foreach (var row in rows)
        {
            database.Outbox.Complete(row);
        }
    }));

    // A message's envelopes to one recipient, one per device: the server takes them together or not at all.
    private static List<List<OutboxRow>> Units(IEnumerable<OutboxRow> rows) =>
        [.. rows.GroupBy(r => (r.MessageId, r.Recipient)).Select(g => g.ToList())];

    // Sealed envelopes in queue order, as many per request as the API and the payload budget allow,
    // never splitting one message's envelopes to one recipient's devices.
    private static IEnumerable<List<OutboxRow>> SealedBatches(IEnumerable<OutboxRow> rows)
    {
        var batch = new List<OutboxRow>();
        var bytes = 0;
        foreach (var unit in Units(rows))
        {
            var unitBytes = unit.Sum(r => r.Payload.Length);
            if (batch.Count > 0 && (batch.Count + unit.Count > ApiLimits.MaxDepositBatch || bytes + unitBytes > SealedBatchPayloadBytes))
            {
                yield return batch;
                batch = [];
                bytes = 0;
            }

            batch.AddRange(unit);
            bytes += unitBytes;
        }

        if (batch.Count > 0)
        {
            yield return batch;
        }
    }

    /// <summary>
    /// Tells a contact that we started or stopped typing, unless typing indicators are off (then nothing
    /// is sent and this returns false). Nothing is kept in the history.
    /// </summary>
    public async Task<bool> SendTypingAsync(ContactRow contact, bool typing, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(contact);
        if (!(await _session.GetSettingsAsync()).TypingIndicators || contact.State != ContactState.Accepted)
        {
            return false;
        }

        await QueueSignalAsync(contact.AccountId, (database, now) => Compose(database, InnerMessageType.Typing, null, now) with { IsTyping = typing });
        await DeliverAsync(ct);
        return true;
    }

    /// <summary>Queues a delivery or read receipt for <paramref name="messageIds"/>, 100 ids per receipt; not in the history.</summary>
    internal async Task QueueReceiptAsync(string accountId, InnerMessageType type, IReadOnlyCollection<Guid> messageIds)
    {
        foreach (var chunk in messageIds.Chunk(InnerMessage.MaxReceiptIds))
        {
            await QueueSignalAsync(accountId, (database, now) => Compose(database, type, null, now) with { MessageIds = chunk });
        }
    }

    // Encrypts a receipt or typing indicator and commits it for delivery, with no history item.
    private Task QueueSignalAsync(string accountId, Func<ProfileDatabase, DateTimeOffset, InnerMessage> compose) =>
        _session.WithStoreAsync(database => database.InTransaction(() =>
        {
            var now = _session.Time.GetUtcNow();
            QueueFor(database, accountId, Guid.NewGuid(), compose(database, now), now);
        }));

    private async Task DepositAsync(PigeonApiClient api, string recipient, OutboxRow[] batch, CancellationToken ct)
    {
        var key = recipient == _session.Profile.AccountId ? null : await _session.WithStoreAsync(database => database.DeliveryKeys.Load(recipient));
        if (key is not null)
        {
            var presented = key.ToBytes();
            try
            {
                await api.DepositSealedAsync([.. batch.Select(q => new Api.SealedEnvelope(q.Recipient, presented, q.MessageId, q.Payload, LifetimeSeconds(q), q.DeviceId))], ct);
                return;
            }
            catch (PigeonApiException exception) when (exception.Status == HttpStatusCode.Unauthorized && exception.Type == ProblemTypes.DeliveryRefused)
            {
                await _session.WithStoreAsync(database => database.DeliveryKeys.Delete(recipient));
            }
        }

        await api.DepositAsync([.. batch.Select(q => new OutgoingEnvelope(q.Recipient, q.MessageId, q.Payload, LifetimeSeconds(q), q.DeviceId))], ct);
    }

    // A message that disappears asks the server to keep its envelope no longer than that (at least a
    // second, so one already due still goes out and is deleted at once by the recipient).
    private int? LifetimeSeconds(OutboxRow row) => row.ExpiresAt is { } expires
        ? (int)Math.Clamp(Math.Ceiling((expires - _session.Time.GetUtcNow()).TotalSeconds), 1, int.MaxValue)
        : null;

    /// <summary>
    /// Encrypts <paramref name="body"/> in the current session with <paramref name="accountId"/> and commits it
    /// for delivery, with <paramref name="alsoInTransaction"/> in the same transaction. A text carries the
    /// conversation's disappearing timer and expires by it on this side too; a timer message carries
    /// <paramref name="timer"/>, the new setting, and stays in the history as its change.
    /// </summary>
    internal async Task<Guid> QueueAsync(string accountId, InnerMessageType type, string? body, MessageKind kind, Action<ProfileDatabase>? alsoInTransaction,
        TimeSpan? timer = null, AttachmentPointer? attachment = null)
    {
        var messageId = Guid.NewGuid();
        await _session.WithStoreAsync(database => database.InTransaction(() =>
        {
            alsoInTransaction?.Invoke(database);
            var now = _session.Time.GetUtcNow();
            var textTimer = type == InnerMessageType.Text ? database.Contacts.Find(accountId)?.Timer : null;
            var expiresAt = now + textTimer;
            Queue(database, accountId, messageId, type, body, now, type == InnerMessageType.Timer ? timer : textTimer, expiresAt, attachment);
            database.Messages.Add(accountId, MessageDirection.Out, kind, MessageStatus.Queued, messageId,
                type == InnerMessageType.Timer ? DisappearingTimer.Format(timer) : body, now, now, expiresAt, attachmentId: attachment?.AttachmentId);
            RecordSentAttachment(database, attachment, messageId, accountId, now);
            if (type == InnerMessageType.Text)
            {
                QueueCopyToOwnDevices(database, messageId, accountId, null, body, attachment, textTimer, now);
            }
        }));
        return messageId;
    }

    /// <summary>
    /// In the transaction that queues a message carrying <paramref name="attachment"/>: the pending
    /// upload becomes a sent attachment of <paramref name="conversation"/>, so a crash leaves either
    /// the upload to resume or the message to deliver, never both or neither.
    /// </summary>
    internal void RecordSentAttachment(ProfileDatabase database, AttachmentPointer? attachment, Guid messageId, string conversation, DateTimeOffset now)
    {
        if (attachment is null)
        {
            return;
        }

        database.Uploads.Delete(attachment.AttachmentId);
        database.Attachments.Save(new AttachmentRow(attachment, messageId, conversation, MessageDirection.Out, _session.Profile.AccountId,
            _session.Profile.DisplayName, AttachmentState.Sent, now));
    }

    /// <summary>
    /// Encrypts an inner message in the current session with <paramref name="accountId"/>, saves the
    /// session and commits the envelope for delivery (no history item: the caller adds one if it is shown),
    /// carrying <paramref name="timer"/> and expiring, in the outbox, at <paramref name="expiresAt"/>.
    /// Call inside a transaction.
    /// </summary>
    internal void Queue(ProfileDatabase database, string accountId, Guid messageId, InnerMessageType type, string? body, DateTimeOffset now,
        TimeSpan? timer = null, DateTimeOffset? expiresAt = null, AttachmentPointer? attachment = null) =>
        QueueFor(database, accountId, messageId, Compose(database, type, body, now, timer) with { Attachment = attachment }, now, expiresAt);

    /// <summary>
    /// The one per-recipient step of every send: encrypts <paramref name="inner"/> in the current
    /// session with each device of <paramref name="accountId"/> (<see cref="DeviceBook.Targets"/>), saves
    /// the sessions and commits the envelopes <paramref name="messageId"/> for delivery, each keeping the
    /// inner message for a device found missing later. Call inside a transaction.
    /// </summary>
    /// <exception cref="NoSessionException">There is no session with any device of another account.</exception>
    internal void QueueFor(ProfileDatabase database, string accountId, Guid messageId, InnerMessage inner, DateTimeOffset now, DateTimeOffset? expiresAt = null)
    {
        var plaintext = inner.ToBytes();
        var queued = 0;
        foreach (var device in _session.Devices.Targets(database, accountId))
        {
            var address = new DeviceAddress(accountId, device);
            if (database.Sessions.Load(address) is not { Current: { } session } record)
            {
                continue;
            }

            var payload = Seal(session, plaintext, address);
            database.Sessions.Save(address, record);
            database.Outbox.Add(new OutboxRow(messageId, accountId, payload, expiresAt, device, plaintext), now);
            queued++;
        }

        if (queued == 0 && accountId != _session.Profile.AccountId)
        {
            throw new NoSessionException(accountId);
        }
    }

    /// <summary>
    /// Queues, for our own other devices, a copy of a text we sent to <paramref name="contact"/> or to
    /// the group <paramref name="groupId"/>, so that each shows it as sent. Call inside a transaction.
    /// </summary>
    internal void QueueCopyToOwnDevices(ProfileDatabase database, Guid historyId, string? contact, byte[]? groupId, string? body,
        AttachmentPointer? attachment, TimeSpan? timer, DateTimeOffset now)
    {
        var copy = Compose(database, InnerMessageType.Sent, body, now, timer) with { To = contact, GroupId = groupId, Attachment = attachment, MessageIds = [historyId] };
        QueueFor(database, _session.Profile.AccountId, Guid.NewGuid(), copy, now, timer is { } t ? now + t : null);
    }

    /// <summary>
    /// Queues <paramref name="inner"/> (a contact sync, a read state, our new delivery key) for our own
    /// other devices, in the sessions we hold with them (<see cref="EnsureOwnSessionsAsync"/> first). Call inside a transaction.
    /// </summary>
    internal void QueueForOwnDevices(ProfileDatabase database, InnerMessage inner, DateTimeOffset now) =>
        QueueFor(database, _session.Profile.AccountId, Guid.NewGuid(), inner, now);

    /// <summary>
    /// Marks every unread text of <paramref name="conversation"/> (a contact's account id or a group's
    /// history key) read and, in the same transaction, tells our other devices which, so they show it
    /// read too. Returns the ids marked; the caller delivers.
    /// </summary>
    internal async Task<List<Guid>> MarkReadAsync(string conversation, CancellationToken ct)
    {
        await EnsureOwnSessionsAsync(ct);
        return await _session.WithStoreAsync(database => database.InTransaction(() =>
        {
            var unread = database.Receipts.Unread(conversation);
            var now = _session.Time.GetUtcNow();
            foreach (var id in unread)
            {
                database.Receipts.Read(id, now);
            }

            foreach (var chunk in unread.Chunk(InnerMessage.MaxReceiptIds))
            {
                QueueForOwnDevices(database, Compose(database, InnerMessageType.Read, null, now) with { MessageIds = chunk }, now);
            }

            return unread;
        }));
    }

    /// <summary>
    /// Makes sure we hold a session with each of our own other devices, for what this device changes
    /// here and can do while the server is down (a verification, a declined request, a read): when the
    /// server cannot be reached, the devices we already hold sessions with still get the change.
    /// </summary>
    internal async Task EnsureOwnSessionsAsync(CancellationToken ct)
    {
        try
        {
            await _session.Devices.EnsureSessionsAsync([_session.Profile.AccountId], ct);
        }
        catch (ServerUnreachableException)
        {
            // See above.
        }
    }

    /// <summary><see cref="DeliverAsync"/> for what is committed and may wait: a server that is down leaves it queued for the next delivery.</summary>
    internal async Task DeliverOrKeepAsync(CancellationToken ct)
    {
        try
        {
            await DeliverAsync(ct);
        }
        catch (ServerUnreachableException exception) when (exception is not AcknowledgementPendingException)
        {
            // Committed: the next delivery takes it.
        }
    }

    /// <summary>
    /// Sends again, in the current session, a text of ours that a contact could not decrypt: the history
    /// item keeps its place (and its expiry; the text carries the conversation's timer now) and takes the new envelope's id (the old id is spent: the
    /// contact processed it). False when <paramref name="messageId"/> names no text of ours to that contact.
    /// </summary>
    internal Task<bool> ResendAsync(string accountId, Guid messageId) => _session.WithStoreAsync(database => database.InTransaction(() =>
    {
        if (database.Messages.FindOutgoing(messageId) is not { Kind: MessageKind.Text } sent || sent.ContactId != accountId)
        {
            return false;
        }

        var resent = Guid.NewGuid();
        var now = _session.Time.GetUtcNow();
        var attachment = sent.AttachmentId is { } attachmentId ? database.Attachments.Find(attachmentId)?.Pointer : null;
        Queue(database, accountId, resent, InnerMessageType.Text, sent.Body, now, database.Contacts.Find(accountId)?.Timer, sent.ExpiresAt, attachment);
        database.Messages.Reassign(messageId, resent, MessageStatus.Queued);
        return true;
    }));

    /// <summary>An inner message from this profile; a request, an acceptance and a key update give our delivery key.</summary>
    internal InnerMessage Compose(ProfileDatabase database, InnerMessageType type, string? body, DateTimeOffset now, TimeSpan? timer = null) =>
        new(type, _session.Profile.DisplayName, body, now,
            type is InnerMessageType.ContactRequest or InnerMessageType.ContactAccepted or InnerMessageType.DeliveryKeyUpdate
                ? database.DeliveryKeys.Load(_session.Profile.AccountId) : null,
            Timer: timer);

    /// <summary>
    /// Encrypts <paramref name="plaintext"/> (an inner message) in <paramref name="session"/> and seals the
    /// ratchet message to <paramref name="recipient"/>, from this device: the server sees only the recipient.
    /// </summary>
    internal byte[] Seal(Session session, byte[] plaintext, DeviceAddress recipient) =>
        SealedEnvelope.Seal(_session.Identity, _session.Profile.DeviceId, session.RemoteIdentity, recipient,
            EnvelopeContentType.RatchetMessage, session.Encrypt(plaintext));
}
