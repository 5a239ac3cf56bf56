using Pigeon.Api;
using Pigeon.Messaging.Profiles;
using Pigeon.Messaging.Store;
using Pigeon.Protocol;
using Pigeon.Protocol.Envelope;
using SealedEnvelope = Pigeon.Protocol.Envelope.SealedEnvelope;
using Pigeon.Protocol.Wire;

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
        foreach (var envelope in response.Envelopes)
        {
            var received = await _session.WithStoreAsync(database => database.InTransaction(() => Process(database, envelope)));
            lock (_pendingLock)
            {
                _pendingAcknowledgements.Add(envelope.MessageId);
            }

            if (received is null)
            {
                duplicates++;
            }
            else
            {
                events.Add(received);
            }
        }

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

    private ReceivedEvent? Process(ProfileDatabase database, IncomingEnvelope envelope)
    {
        var now = _session.Time.GetUtcNow();
        if (database.Processed.Contains(envelope.MessageId))
        {
            return null;
        }

        database.Processed.Add(envelope.MessageId, now);
        OpenedEnvelope opened;
        try
        {
            opened = SealedEnvelope.Open(_session.Identity, DeviceAddress.Primary(_session.Profile.AccountId), envelope.Payload);
        }
        catch (ProtocolException exception)
        {
            // Nothing proves who sent it, so nobody is named: "unknown".
            return Failed(database, envelope, null, $"could not be decrypted (envelope: {exception.Reason})", now);
        }

        var sender = opened.Sender.AccountId;
        if (opened.ContentType != EnvelopeContentType.RatchetMessage)
        {
            return Failed(database, envelope, sender, "not a message this client reads", now);
        }

        Session session;
        byte[] plaintext;
        try
        {
            (session, plaintext) = Decrypt(database, opened, WireMessage.Parse(opened.Content));
        }
        catch (ProtocolException exception)
        {
            return Failed(database, envelope, sender, $"could not be decrypted ({exception.Reason})", now);
        }

        InnerMessage inner;
        try
        {
            inner = InnerMessage.Parse(plaintext);
        }
        catch (FormatException exception)
        {
            database.Sessions.Save(session, now);
            return Failed(database, envelope, sender, $"decrypted but not understood ({exception.Message})", now);
        }

        var contact = database.Contacts.Find(sender);
        var request = database.Requests.All().Find(r => r.AccountId == sender);
        switch (inner.Type)
        {
            case InnerMessageType.ContactRequest when contact is not null:
                // A contact started a new session: a reinstall, or both invited each other at once.
                if (contact.State == ContactState.Invited && database.Sessions.Load(sender) is { IsInitiator: true } mine
                    && mine.BaseKey.AsSpan().SequenceCompareTo(session.BaseKey) < 0)
                {
                    // Both sides keep the session with the smaller base key, so they end up with the same one.
                    session = mine;
                }

                var changed = !contact.PublicIdentity.Equals(session.RemoteIdentity);
                database.Contacts.Upsert(contact with
                {
                    State = ContactState.Accepted,
                    DisplayName = inner.SenderName,
                    PublicIdentity = session.RemoteIdentity,
                    Verified = contact.Verified && !changed,
                });
                break;
            case InnerMessageType.ContactRequest:
                database.Requests.Upsert(new RequestRow(sender, inner.SenderName, session.RemoteIdentity, inner.Body, now));
                break;
            case InnerMessageType.ContactAccepted when contact is not null:
                database.Contacts.Upsert(contact with { State = ContactState.Accepted, DisplayName = inner.SenderName });
                break;
            case InnerMessageType.ContactAccepted:
                database.Sessions.Save(session, now);
                return Failed(database, envelope, sender, "an acceptance from someone never invited", now);
            case InnerMessageType.Text when contact is null && request is null:
                database.Sessions.Save(session, now);
                return Failed(database, envelope, sender, "a text from someone who is not a contact", now);
        }

        if (inner.SenderDeliveryKey is { } deliveryKey && inner.Type is InnerMessageType.ContactRequest or InnerMessageType.ContactAccepted)
        {
            database.DeliveryKeys.Save(sender, deliveryKey);
        }

        database.Sessions.Save(session, now);
        var kind = inner.Type switch
        {
            InnerMessageType.ContactRequest => MessageKind.Request,
            InnerMessageType.ContactAccepted => MessageKind.Accepted,
            _ => MessageKind.Text,
        };
        database.Messages.Add(sender, MessageDirection.In, kind, MessageStatus.Received, envelope.MessageId, inner.Body, inner.SentAt, now);
        var eventKind = kind switch
        {
            MessageKind.Request when contact is null => ReceivedKind.Request,
            MessageKind.Request or MessageKind.Accepted => ReceivedKind.Accepted,
            _ => ReceivedKind.Text,
        };
        return new ReceivedEvent(eventKind, envelope.MessageId, sender, inner.SenderName, inner.Body, inner.SentAt, now);
    }

    // Only the session with the sender the envelope proves is tried: a message can never be taken
    // for another contact's.
    private (Session Session, byte[] Plaintext) Decrypt(ProfileDatabase database, OpenedEnvelope opened, WireMessage wire)
    {
        var sender = opened.Sender.AccountId;
        var existing = database.Sessions.Load(sender);
        if (existing is not null && !existing.RemoteIdentity.Equals(opened.SenderIdentity))
        {
            throw new ProtocolException(ProtocolError.IdentityMismatch, "The sender's identity is not the one its session has.");
        }

        if (wire.Prelude is { } prelude)
        {
            if (!prelude.SenderIdentity.Equals(opened.SenderIdentity))
            {
                throw new ProtocolException(ProtocolError.IdentityMismatch, "The first message names another identity than its envelope's sender.");
            }

            if (existing?.IsSetupOf(wire) == true)
            {
                return (existing, existing.Decrypt(wire));
            }

            var prekeys = database.Prekeys.Load();
            var accepted = Session.Accept(_session.Identity, prekeys, wire);
            database.Prekeys.Save(prekeys);
            return (accepted.Session, accepted.Plaintext);
        }

        var session = existing ?? throw new ProtocolException(ProtocolError.WrongSession, "No session with the sender.");
        return (session, session.Decrypt(wire));
    }

    private static ReceivedEvent Failed(ProfileDatabase database, IncomingEnvelope envelope, string? sender, string error, DateTimeOffset now)
    {
        database.Messages.Add(sender ?? "", MessageDirection.In, MessageKind.Failed, MessageStatus.Failed, envelope.MessageId, null, null, now);
        var name = sender is null ? null : database.Contacts.Find(sender)?.Label;
        return new ReceivedEvent(ReceivedKind.Failed, envelope.MessageId, sender, name, null, null, now, error);
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
