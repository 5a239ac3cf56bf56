using System.Net;
using Pigeon.Api;
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
    /// <summary>The most envelopes one deposit carries (under <see cref="ApiLimits.MaxDepositBatch"/>, which a body of large envelopes would exceed).</summary>
    public const int DepositBatch = 50;

    private readonly ProfileSession _session;

    internal Outbox(ProfileSession session) => _session = session;

    /// <summary>
    /// Encrypts and sends a text to a contact. The server is reached first (signing in), so a server
    /// that is down leaves the profile as it was; when it goes away between the commit and the deposit,
    /// the <see cref="ServerUnreachableException"/> says the message is saved.
    /// </summary>
    public async Task<Guid> SendAsync(ContactRow contact, string text, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(contact);
        await _session.CallServerAsync(api => api.SignInAsync(ct));
        var messageId = await QueueAsync(contact.AccountId, InnerMessageType.Text, text, MessageKind.Text, null);
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
    /// Deposits every queued ciphertext, 50 at a time per recipient: sealed, without a token, to a
    /// recipient whose delivery key we hold, otherwise on the identified route (first messages). A key the
    /// server no longer accepts (the recipient rotated it) is forgotten and the batch goes identified. A
    /// recipient the server refuses for good (400, 404) has its messages marked failed; the
    /// <see cref="DepositRefusedException"/> names it.
    /// </summary>
    public async Task<int> DeliverAsync(CancellationToken ct)
    {
        var queued = await _session.WithStoreAsync(database => database.Outbox.All());
        var delivered = 0;
        foreach (var group in queued.GroupBy(q => q.Recipient))
        {
            foreach (var batch in group.Chunk(DepositBatch))
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
                                    database.Outbox.Remove(row.MessageId);
                                }
                            }));
                        }

                        throw new DepositRefusedException(group.Key, exception);
                    }
                });
                foreach (var row in batch)
                {
                    await _session.WithStoreAsync(database => database.Outbox.Complete(row.MessageId));
                }

                delivered += batch.Length;
            }
        }

        return delivered;
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
            var record = database.Sessions.Load(accountId);
            var session = record?.Current ?? throw new NoSessionException(accountId);
            var payload = Seal(session, compose(database, now));
            database.Sessions.Save(accountId, record);
            database.Outbox.Add(new OutboxRow(Guid.NewGuid(), accountId, payload), now);
        }));

    private async Task DepositAsync(PigeonApiClient api, string recipient, OutboxRow[] batch, CancellationToken ct)
    {
        var key = await _session.WithStoreAsync(database => database.DeliveryKeys.Load(recipient));
        if (key is not null)
        {
            var presented = key.ToBytes();
            try
            {
                await api.DepositSealedAsync([.. batch.Select(q => new Api.SealedEnvelope(q.Recipient, presented, q.MessageId, q.Payload, LifetimeSeconds(q)))], ct);
                return;
            }
            catch (PigeonApiException exception) when (exception.Status == HttpStatusCode.Unauthorized && exception.Type == ProblemTypes.DeliveryRefused)
            {
                await _session.WithStoreAsync(database => database.DeliveryKeys.Delete(recipient));
            }
        }

        await api.DepositAsync([.. batch.Select(q => new OutgoingEnvelope(q.Recipient, q.MessageId, q.Payload, LifetimeSeconds(q)))], ct);
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
        TimeSpan? timer = null)
    {
        var messageId = Guid.NewGuid();
        await _session.WithStoreAsync(database => database.InTransaction(() =>
        {
            alsoInTransaction?.Invoke(database);
            var now = _session.Time.GetUtcNow();
            var textTimer = type == InnerMessageType.Text ? database.Contacts.Find(accountId)?.Timer : null;
            var expiresAt = now + textTimer;
            Queue(database, accountId, messageId, type, body, now, type == InnerMessageType.Timer ? timer : textTimer, expiresAt);
            database.Messages.Add(accountId, MessageDirection.Out, kind, MessageStatus.Queued, messageId,
                type == InnerMessageType.Timer ? DisappearingTimer.Format(timer) : body, now, now, expiresAt);
        }));
        return messageId;
    }

    /// <summary>
    /// Encrypts an inner message in the current session with <paramref name="accountId"/>, saves the
    /// session and commits the envelope for delivery (no history item: the caller adds one if it is shown),
    /// carrying <paramref name="timer"/> and expiring, in the outbox, at <paramref name="expiresAt"/>.
    /// Call inside a transaction.
    /// </summary>
    internal void Queue(ProfileDatabase database, string accountId, Guid messageId, InnerMessageType type, string? body, DateTimeOffset now,
        TimeSpan? timer = null, DateTimeOffset? expiresAt = null)
    {
        var record = database.Sessions.Load(accountId);
        var session = record?.Current ?? throw new NoSessionException(accountId);
        var payload = Seal(session, Compose(database, type, body, now, timer));
        database.Sessions.Save(accountId, record);
        database.Outbox.Add(new OutboxRow(messageId, accountId, payload, expiresAt), now);
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
        Queue(database, accountId, resent, InnerMessageType.Text, sent.Body, now, database.Contacts.Find(accountId)?.Timer, sent.ExpiresAt);
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
    /// Encrypts <paramref name="inner"/> in <paramref name="session"/> and seals the ratchet message to
    /// the session's peer (device 1), from this profile: the server sees only the recipient.
    /// </summary>
    internal byte[] Seal(Session session, InnerMessage inner)
    {
        var recipient = session.RemoteIdentity;
        return SealedEnvelope.Seal(_session.Identity, DeviceAddress.PrimaryDeviceId, recipient, DeviceAddress.Primary(recipient.AccountId),
            EnvelopeContentType.RatchetMessage, session.Encrypt(inner.ToBytes()));
    }
}
