using System.Net;
using Pigeon.Api;
using Pigeon.Client.Api;
using Pigeon.Client.Cli;
using Pigeon.Client.Store;
using Pigeon.Protocol;
using Pigeon.Protocol.Identity;
using Pigeon.Protocol.Prekeys;
using Pigeon.Protocol.Wire;

namespace Pigeon.Client.Messaging;

/// <summary>What happened to one received envelope.</summary>
public enum ReceivedKind
{
    /// <summary>A text from a contact (or from someone whose request is pending).</summary>
    Text,

    /// <summary>Someone asks to become a contact.</summary>
    Request,

    /// <summary>Someone we invited accepted.</summary>
    Accepted,

    /// <summary>The envelope could not be decrypted or understood; it was recorded and acknowledged.</summary>
    Failed,
}

/// <summary>One received item, as <c>sync</c> and <c>chat</c> report it.</summary>
public sealed record ReceivedEvent(ReceivedKind Kind, Guid MessageId, string? ContactId, string? ContactName, string? Body, DateTimeOffset? SentAt, DateTimeOffset ReceivedAt, string? Error = null);

/// <summary>What a <see cref="Messenger.PollAsync"/> call brought.</summary>
public sealed record ReceiveResult(IReadOnlyList<ReceivedEvent> Events, int Duplicates, long LastSequence, bool HasMore);

/// <summary>
/// The client's logic between the store, the gateway and the protocol: one opened profile. Every
/// received envelope is decrypted and committed (session, history, processed id) in one transaction
/// before it is acknowledged; every sent message is committed with its session state and queued in the
/// outbox before it is deposited, so a ratchet key is never used twice and nothing is lost.
/// Thread-safe: <c>chat</c> sends while a receive loop runs.
/// </summary>
internal sealed class Messenger : IDisposable
{
    /// <summary>One-time prekeys of each kind uploaded at init and topped up to.</summary>
    public const int PrekeyTarget = 100;

    /// <summary>Below this many on the server, <c>sync</c> uploads more.</summary>
    public const int PrekeyLowWatermark = 20;

    /// <summary>How often the signed prekey (and the last-resort ML-KEM prekey) is replaced.</summary>
    public static readonly TimeSpan SignedPrekeyLifetime = TimeSpan.FromDays(7);

    /// <summary>How long a replaced signed prekey still answers late session setups.</summary>
    public static readonly TimeSpan RetiredPrekeyGrace = TimeSpan.FromDays(14);

    /// <summary>
    /// How long a one-time prekey the server has handed out keeps its private half: the first message
    /// that used it may wait in the sender's outbox and then up to the server's envelope TTL (30 days).
    /// </summary>
    public static readonly TimeSpan HandedOutPrekeyGrace = TimeSpan.FromDays(60);

    /// <summary>How long a receive loop that is ending may spend acknowledging what it stored.</summary>
    public static readonly TimeSpan AcknowledgeOnLeaveTimeout = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan ProcessedIdRetention = TimeSpan.FromDays(30);
    private readonly CliContext _context;
    private readonly ProfileStore _store;
    private readonly IdentityKeyPair _identity;
    private readonly PigeonApiClient _api;
    private readonly Uri _server;
    private readonly SemaphoreSlim _storeLock = new(1, 1);
    // The prekey id bound as of this messenger's last prekey maintenance, so that a later one (each
    // poll of `sync --watch`) need not read the prekey store an extra time to learn it.
    private uint? _prekeysIssuedBefore;
    private readonly Lock _pendingLock = new();
    // Ids of envelopes committed locally whose deletion the server has not confirmed yet, oldest first.
    private readonly List<Guid> _pendingAcknowledgements = [];

    private Messenger(CliContext context, ProfileStore store, IdentityKeyPair identity, ProfileRow profile)
    {
        _context = context;
        _store = store;
        _identity = identity;
        Profile = profile;
        _server = new Uri(profile.Server);
        _api = context.CreateApiClient(_server, identity);
    }

    /// <summary>The profile's public facts.</summary>
    public ProfileRow Profile { get; }

    /// <summary>The passphrase from <c>PIGEON_PASSPHRASE</c>, else asked for on a terminal, else null.</summary>
    public static string? Passphrase(CliContext context, string prompt) =>
        context.GetEnvironmentVariable("PIGEON_PASSPHRASE") ?? context.PromptSecret?.Invoke(prompt);

    /// <summary>Opens and unlocks a profile.</summary>
    public static Messenger Open(CliContext context, string? profile)
    {
        var store = ProfileStore.Open(context.ProfileDirectory(profile), () => Passphrase(context, "Passphrase: "));
        try
        {
            var identity = store.LoadIdentity();
            return new Messenger(context, store, identity, store.Profile());
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Creates an identity and prekeys, registers them and publishes the prekeys, and only then writes
    /// the new profile, so a failure leaves nothing behind.
    /// </summary>
    public static async Task<ProfileRow> InitAsync(CliContext context, string? profile, Uri server, string displayName, string? passphrase, CancellationToken ct)
    {
        var directory = context.ProfileDirectory(profile);
        if (ProfileStore.Exists(directory))
        {
            throw new CliException(ExitCodes.UsageError, $"A profile already exists in {directory}; use another --profile or PIGEON_HOME.");
        }
        var now = context.Time.GetUtcNow();
        using var identity = IdentityKeyPair.Generate();
        var prekeys = new PrekeyStore();
        var upload = new UploadPrekeysRequest(
            prekeys.RotateSignedPrekey(identity, now).ToDto(),
            prekeys.RotateLastResortMlKemPrekey(identity, now).ToDto(),
            [.. prekeys.GenerateOneTimePrekeys(PrekeyTarget).Select(p => p.ToDto())],
            [.. prekeys.GenerateMlKemPrekeys(identity, PrekeyTarget).Select(p => p.ToDto())]);
        using (var api = context.CreateApiClient(server, identity))
        {
            await ServerErrorsAsCliErrors(server, async () =>
            {
                await api.RegisterAsync(identity.PublicIdentity.Registration(), ct);
                await api.UploadPrekeysAsync(upload, ct);
            }, null);
        }
        var store = ProfileStore.Create(directory);
        try
        {
            using (store)
            {
                (byte[], Protocol.Storage.PassphraseKeyParameters, byte[])? encryption = null;
                if (!string.IsNullOrEmpty(passphrase))
                {
                    store.SetPassphrase(passphrase, context.KdfParameters, out var salt, out var keyCheck);
                    encryption = (salt, context.KdfParameters, keyCheck);
                }
                store.InTransaction(() => store.InsertProfile(server.ToString(), displayName, identity, prekeys, now, encryption));
                return store.Profile();
            }
        }
        catch
        {
            File.Delete(Path.Combine(directory, ProfileStore.FileName));
            throw;
        }
    }

    /// <summary>Every contact.</summary>
    public Task<List<ContactRow>> ContactsAsync() => WithStoreAsync(_store.Contacts);

    /// <summary>Every pending request.</summary>
    public Task<List<RequestRow>> RequestsAsync() => WithStoreAsync(_store.Requests);

    /// <summary>History with a contact, oldest first.</summary>
    public async Task<(ContactRow Contact, List<MessageRow> Messages)> HistoryAsync(string contactReference, int limit)
    {
        var contact = await ResolveContactAsync(contactReference);
        return (contact, await WithStoreAsync(() => _store.History(contact.AccountId, limit)));
    }

    /// <summary>Finds a contact by account id or display name (case-insensitive); refuses an ambiguous name.</summary>
    public Task<ContactRow> ResolveContactAsync(string reference) => WithStoreAsync(() =>
    {
        var contacts = _store.Contacts();
        if (contacts.Find(c => c.AccountId == reference) is { } byId)
        {
            return byId;
        }
        var byName = contacts.Where(c => string.Equals(c.DisplayName, reference, StringComparison.OrdinalIgnoreCase)).ToList();
        if (byName.Count > 1)
        {
            throw new CliException(ExitCodes.UsageError, $"Several contacts are called '{reference}': name one by its id ({string.Join(", ", byName.Select(c => c.AccountId))}).");
        }
        if (byName.Count == 1)
        {
            return byName[0];
        }
        if (_store.Requests().Find(r => r.AccountId == reference || string.Equals(r.DisplayName, reference, StringComparison.OrdinalIgnoreCase)) is { } request)
        {
            throw new CliException(ExitCodes.NotFound, $"{request.DisplayName} ({request.AccountId}) has asked to be your contact: run 'pigeon accept {request.AccountId}' first.");
        }
        throw new CliException(ExitCodes.NotFound, $"No contact is called or has the id '{reference}'. 'pigeon contacts' lists them; 'pigeon invite <id>' adds one.");
    });

    /// <summary>Fetches and checks the contact's keys, starts a session and sends a contact request.</summary>
    public async Task<ContactRow> InviteAsync(string accountId, string? message, CancellationToken ct)
    {
        if (!AccountId.IsWellFormed(accountId))
        {
            throw new CliException(ExitCodes.UsageError, $"'{accountId}' is not an account id: an id is 32 characters of a–z and 2–7 (ask your contact for the output of 'pigeon whoami').");
        }
        if (accountId == Profile.AccountId)
        {
            throw new CliException(ExitCodes.UsageError, "That is your own account id.");
        }
        await WithStoreAsync<bool>(() =>
        {
            if (_store.Contact(accountId) is { State: ContactState.Accepted } existing)
            {
                throw new CliException(ExitCodes.UsageError, $"{existing.Label} is already a contact.");
            }
            if (_store.Requests().Exists(r => r.AccountId == accountId))
            {
                throw new CliException(ExitCodes.UsageError, $"{accountId} has already asked to be your contact: run 'pigeon accept {accountId}'.");
            }
            return true;
        });
        var bundle = (await ServerErrorsAsCliErrors(_server, () => _api.FetchBundleAsync(accountId, ct), accountId)).ToBundle();
        Session session;
        try
        {
            bundle.Verify(accountId);
            session = Session.Initiate(_identity, bundle, accountId);
        }
        catch (ProtocolException exception)
        {
            throw new CliException(ExitCodes.CryptoFailure,
                $"The keys the server gave for {accountId} are not that account's ({exception.Reason}): nothing was sent.", exception);
        }
        var now = _context.Time.GetUtcNow();
        var messageId = Guid.NewGuid();
        var payload = session.Encrypt(new InnerMessage(InnerMessageType.ContactRequest, Profile.DisplayName, message, now).ToBytes());
        var contact = new ContactRow(accountId, "", bundle.Identity, ContactState.Invited, false, now, null);
        await WithStoreAsync(() => _store.InTransaction(() =>
        {
            _store.UpsertContact(contact);
            _store.SaveSession(session, now);
            _store.AddMessage(accountId, MessageDirection.Out, MessageKind.Request, MessageStatus.Queued, messageId, message, now, now);
            _store.AddOutbox(new OutboxRow(messageId, accountId, payload), now);
        }));
        await DeliverOutboxAsync(ct);
        return contact;
    }

    /// <summary>Accepts a request: makes a contact and tells them, with our name.</summary>
    public async Task<ContactRow> AcceptAsync(string reference, CancellationToken ct)
    {
        var request = await FindRequestAsync(reference);
        // Reaching the server first means a server that is down leaves the profile as it was.
        await ServerErrorsAsCliErrors(_server, () => _api.SignInAsync(ct), null);
        var contact = new ContactRow(request.AccountId, request.DisplayName, request.PublicIdentity, ContactState.Accepted, false, _context.Time.GetUtcNow(), null);
        await EncryptAndQueueAsync(request.AccountId, InnerMessageType.ContactAccepted, null, MessageKind.Accepted, () =>
        {
            _store.UpsertContact(contact);
            _store.DeleteRequest(request.AccountId);
        });
        await DeliverOutboxAsync(ct);
        return contact;
    }

    /// <summary>Declines a request: forgets it, its session and what it said. Nothing is sent.</summary>
    public async Task<RequestRow> DeclineAsync(string reference)
    {
        var request = await FindRequestAsync(reference);
        await WithStoreAsync(() => _store.InTransaction(() =>
        {
            _store.DeleteRequest(request.AccountId);
            _store.DeleteSession(request.AccountId);
            _store.DeleteHistory(request.AccountId);
        }));
        return request;
    }

    /// <summary>Encrypts and sends a text to a contact; it is committed and queued before it is deposited.</summary>
    public async Task<(ContactRow Contact, Guid MessageId)> SendAsync(string reference, string text, CancellationToken ct)
    {
        var contact = await ResolveContactAsync(reference);
        await ServerErrorsAsCliErrors(_server, () => _api.SignInAsync(ct), null);
        var messageId = await EncryptAndQueueAsync(contact.AccountId, InnerMessageType.Text, text, MessageKind.Text, null);
        try
        {
            await DeliverOutboxAsync(ct);
        }
        catch (CliException exception) when (exception.ExitCode == ExitCodes.ServerUnreachable)
        {
            throw new CliException(exception.ExitCode, exception.Message + " The message is saved and will be sent by the next 'pigeon send' or 'pigeon sync'.", exception);
        }
        return (contact, messageId);
    }

    /// <summary>The 60-digit safety number with a contact.</summary>
    public async Task<(ContactRow Contact, string SafetyNumber)> SafetyNumberAsync(string reference)
    {
        var contact = await ResolveContactAsync(reference);
        return (contact, Protocol.Fingerprints.SafetyNumber.Compute(Profile.PublicIdentity, contact.PublicIdentity));
    }

    /// <summary>Marks a contact's identity as checked in person.</summary>
    public async Task MarkVerifiedAsync(ContactRow contact) =>
        await WithStoreAsync(() => _store.InTransaction(() =>
        {
            var current = _store.Contact(contact.AccountId)!;
            _store.UpsertContact(current with { Verified = true });
        }));

    /// <summary>
    /// Receives once (waiting up to <paramref name="wait"/> when nothing is there) and decrypts and
    /// commits each envelope. The poll carries the acknowledgements still pending, so a loop acknowledges
    /// each batch on its next poll rather than with a request of its own; this batch's ids stay pending
    /// until then, or until <see cref="AcknowledgeAsync"/>, which a command runs before it ends. An id
    /// becomes pending only once its envelope is committed locally. One receive loop at a time.
    /// </summary>
    public async Task<ReceiveResult> PollAsync(long after, TimeSpan wait, CancellationToken ct)
    {
        var carried = PendingAcknowledgements();
        if (carried.Length > ApiLimits.MaxReceiveBatch)
        {
            await AcknowledgeAsync(ct);
            carried = [];
        }
        var response = await ServerErrorsAsCliErrors(_server, () => _api.ReceiveAsync(after, wait, carried, ct: ct), null);
        // The server commits the deletion before it starts to wait, so an answer confirms it. When the
        // poll fails the ids stay pending: a repeated acknowledgement deletes nothing more.
        ForgetPending(carried);
        var events = new List<ReceivedEvent>();
        var duplicates = 0;
        foreach (var envelope in response.Envelopes)
        {
            var received = await WithStoreAsync(() => _store.InTransaction(() => Process(envelope)));
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
        return new ReceiveResult(events, duplicates, last, response.HasMore);
    }

    /// <summary>
    /// Acknowledges every pending id with <c>POST /v1/messages/ack</c>; returns how many envelopes the
    /// server deleted (fewer than were pending when a poll had already carried some before it failed).
    /// </summary>
    public async Task<int> AcknowledgeAsync(CancellationToken ct)
    {
        var deleted = 0;
        foreach (var chunk in PendingAcknowledgements().Chunk(ApiLimits.MaxAckBatch))
        {
            deleted += (await ServerErrorsAsCliErrors(_server, () => _api.AckAsync(chunk, ct), null)).Acknowledged;
            ForgetPending(chunk);
        }
        return deleted;
    }

    /// <summary>
    /// <see cref="AcknowledgeAsync"/> for a receive loop that is ending, usually because Ctrl-C cancelled
    /// its token: it runs regardless, for at most <see cref="AcknowledgeOnLeaveTimeout"/>.
    /// </summary>
    public async Task AcknowledgeBeforeLeavingAsync()
    {
        using var timeout = new CancellationTokenSource(AcknowledgeOnLeaveTimeout, _context.Time);
        try
        {
            await AcknowledgeAsync(timeout.Token);
        }
        catch (OperationCanceledException exception) when (timeout.IsCancellationRequested)
        {
            throw new CliException(ExitCodes.ServerUnreachable,
                $"The server did not confirm within {AcknowledgeOnLeaveTimeout.TotalSeconds:0} s that it may delete {PendingAcknowledgements().Length} received message(s). "
                + "They are stored here; the server will deliver them again, and they will be recognised and not shown twice.", exception);
        }
    }

    /// <summary>Deposits every queued ciphertext; a recipient the server refuses is marked failed.</summary>
    public async Task<int> DeliverOutboxAsync(CancellationToken ct)
    {
        var queued = await WithStoreAsync(_store.Outbox);
        var delivered = 0;
        foreach (var group in queued.GroupBy(q => q.Recipient))
        {
            foreach (var batch in group.Chunk(50))
            {
                await ServerErrorsAsCliErrors(_server, async () =>
                {
                    try
                    {
                        await _api.DepositAsync([.. batch.Select(q => new OutgoingEnvelope(q.Recipient, q.MessageId, q.Payload))], ct);
                    }
                    catch (PigeonApiException exception) when (!exception.IsTransient)
                    {
                        if (exception.Status is HttpStatusCode.NotFound or HttpStatusCode.BadRequest)
                        {
                            await WithStoreAsync(() => _store.InTransaction(() =>
                            {
                                foreach (var row in batch)
                                {
                                    _store.SetMessageStatus(row.MessageId, MessageStatus.Failed);
                                    _store.CompleteOutboxAsFailed(row.MessageId);
                                }
                            }));
                        }
                        throw new CliException(ExitCodes.ServerRefused, $"The server refused the message for {group.Key}: {exception.Message}", exception);
                    }
                }, null);
                foreach (var row in batch)
                {
                    await WithStoreAsync(() => _store.CompleteOutbox(row.MessageId));
                }
                delivered += batch.Length;
            }
        }
        return delivered;
    }

    /// <summary>
    /// Keeps the server stocked: uploads one-time prekeys when fewer than <see cref="PrekeyLowWatermark"/>
    /// remain and rotates the signed prekey when it is older than <see cref="SignedPrekeyLifetime"/>. The
    /// new private keys are committed before their public halves are uploaded. One-time prekeys the
    /// server has handed out are dropped <see cref="HandedOutPrekeyGrace"/> after it no longer holds them.
    /// </summary>
    public async Task<UploadPrekeysRequest?> MaintainPrekeysAsync(CancellationToken ct)
    {
        // Keys made from here on, by any process of this profile, have ids at or above this bound.
        var issuedBefore = _prekeysIssuedBefore ?? await WithStoreAsync(() => _store.LoadPrekeys().NextPrekeyId);
        var counts = await ServerErrorsAsCliErrors(_server, () => _api.CountPrekeysAsync(ct), null);
        var now = _context.Time.GetUtcNow();
        var upload = await WithStoreAsync(() => _store.InTransaction(() =>
        {
            var prekeys = _store.LoadPrekeys();
            var retired = prekeys.MarkHandedOut(
                    HeldFrom(counts.OneTimePrekeys, counts.LowestOneTimePrekeyId), HeldFrom(counts.OneTimeKemPrekeys, counts.LowestOneTimeKemPrekeyId),
                    issuedBefore, now)
                + prekeys.PruneHandedOut(now, HandedOutPrekeyGrace);
            var profile = _store.Profile();
            PrekeyDto? signed = null, lastResort = null;
            var rotate = now - profile.SignedPrekeyRotatedAt >= SignedPrekeyLifetime || !counts.HasSignedPrekey || !counts.HasLastResortKemPrekey;
            if (rotate)
            {
                signed = prekeys.RotateSignedPrekey(_identity, now).ToDto();
                lastResort = prekeys.RotateLastResortMlKemPrekey(_identity, now).ToDto();
                prekeys.PruneRetired(now, RetiredPrekeyGrace);
                _store.SetSignedPrekeyRotatedAt(now);
            }
            // Keys handed out but never used stay in the local store; never grow it past its bound.
            var room = Math.Max(0, PrekeyStore.MaxStoredPrekeys - 16 - prekeys.OneTimePrekeyCount - prekeys.OneTimeMlKemPrekeyCount);
            var wantOneTime = counts.OneTimePrekeys < PrekeyLowWatermark ? Math.Min(PrekeyTarget - counts.OneTimePrekeys, room / 2) : 0;
            var wantKem = counts.OneTimeKemPrekeys < PrekeyLowWatermark ? Math.Min(PrekeyTarget - counts.OneTimeKemPrekeys, room / 2) : 0;
            List<PrekeyDto> oneTime = [.. prekeys.GenerateOneTimePrekeys(wantOneTime).Select(p => p.ToDto())];
            List<PrekeyDto> oneTimeKem = [.. prekeys.GenerateMlKemPrekeys(_identity, wantKem).Select(p => p.ToDto())];
            if (!rotate && oneTime.Count == 0 && oneTimeKem.Count == 0)
            {
                if (retired > 0)
                {
                    _store.SavePrekeys(prekeys);
                }
                _prekeysIssuedBefore = prekeys.NextPrekeyId;
                return null;
            }
            _store.SavePrekeys(prekeys);
            _prekeysIssuedBefore = prekeys.NextPrekeyId;
            return new UploadPrekeysRequest(signed, lastResort, oneTime.Count > 0 ? oneTime : null, oneTimeKem.Count > 0 ? oneTimeKem : null);
        }));
        if (upload is not null)
        {
            await ServerErrorsAsCliErrors(_server, () => _api.UploadPrekeysAsync(upload, ct), null);
        }
        await WithStoreAsync(() => _store.PruneProcessed(now - ProcessedIdRetention));
        return upload;
    }

    // The lowest id the server may still hold: none when its pool is empty, and, when a server too old
    // to name it holds some, possibly any (so nothing is taken for gone).
    private static uint HeldFrom(int count, uint? lowest) => count == 0 ? uint.MaxValue : lowest ?? 0;

    public void Dispose()
    {
        _api.Dispose();
        _identity.Dispose();
        _store.Dispose();
        _storeLock.Dispose();
    }

    private ReceivedEvent? Process(IncomingEnvelope envelope)
    {
        var now = _context.Time.GetUtcNow();
        if (_store.IsProcessed(envelope.MessageId))
        {
            return null;
        }
        _store.MarkProcessed(envelope.MessageId, now);
        string? senderHint = null;
        Session session;
        byte[] plaintext;
        try
        {
            var wire = WireMessage.Parse(envelope.Payload);
            senderHint = wire.Prelude?.SenderAccountId;
            (session, plaintext) = Decrypt(wire);
        }
        catch (ProtocolException exception)
        {
            return Failed(envelope, senderHint, $"could not be decrypted ({exception.Reason})", now);
        }
        var sender = session.RemoteAccountId;
        InnerMessage inner;
        try
        {
            inner = InnerMessage.Parse(plaintext);
        }
        catch (FormatException exception)
        {
            _store.SaveSession(session, now);
            return Failed(envelope, sender, $"decrypted but not understood ({exception.Message})", now);
        }
        var contact = _store.Contact(sender);
        var request = _store.Requests().Find(r => r.AccountId == sender);
        switch (inner.Type)
        {
            case InnerMessageType.ContactRequest when contact is not null:
                // A contact started a new session: a reinstall, or both invited each other at once.
                if (contact.State == ContactState.Invited && _store.LoadSession(sender) is { IsInitiator: true } mine
                    && mine.BaseKey.AsSpan().SequenceCompareTo(session.BaseKey) < 0)
                {
                    // Both sides keep the session with the smaller base key, so they end up with the same one.
                    session = mine;
                }
                var changed = !contact.PublicIdentity.Equals(session.RemoteIdentity);
                _store.UpsertContact(contact with
                {
                    State = ContactState.Accepted,
                    DisplayName = inner.SenderName,
                    PublicIdentity = session.RemoteIdentity,
                    Verified = contact.Verified && !changed,
                });
                break;
            case InnerMessageType.ContactRequest:
                _store.UpsertRequest(new RequestRow(sender, inner.SenderName, session.RemoteIdentity, inner.Body, now));
                break;
            case InnerMessageType.ContactAccepted when contact is not null:
                _store.UpsertContact(contact with { State = ContactState.Accepted, DisplayName = inner.SenderName });
                break;
            case InnerMessageType.ContactAccepted:
                _store.SaveSession(session, now);
                return Failed(envelope, sender, "an acceptance from someone never invited", now);
            case InnerMessageType.Text when contact is null && request is null:
                _store.SaveSession(session, now);
                return Failed(envelope, sender, "a text from someone who is not a contact", now);
        }
        _store.SaveSession(session, now);
        var kind = inner.Type switch
        {
            InnerMessageType.ContactRequest => MessageKind.Request,
            InnerMessageType.ContactAccepted => MessageKind.Accepted,
            _ => MessageKind.Text,
        };
        _store.AddMessage(sender, MessageDirection.In, kind, MessageStatus.Received, envelope.MessageId, inner.Body, inner.SentAt, now);
        var eventKind = kind switch
        {
            MessageKind.Request when contact is null => ReceivedKind.Request,
            MessageKind.Request or MessageKind.Accepted => ReceivedKind.Accepted,
            _ => ReceivedKind.Text,
        };
        return new ReceivedEvent(eventKind, envelope.MessageId, sender, inner.SenderName, inner.Body, inner.SentAt, now);
    }

    private (Session Session, byte[] Plaintext) Decrypt(WireMessage wire)
    {
        if (wire.Prelude is { } prelude)
        {
            var existing = _store.LoadSession(prelude.SenderAccountId);
            if (existing?.IsSetupOf(wire) == true)
            {
                return (existing, existing.Decrypt(wire));
            }
            var prekeys = _store.LoadPrekeys();
            var accepted = Session.Accept(_identity, prekeys, wire);
            _store.SavePrekeys(prekeys);
            return (accepted.Session, accepted.Plaintext);
        }
        // The envelope does not name its sender: the session whose keys open it is the sender's.
        ProtocolException? last = null;
        foreach (var candidate in _store.LoadSessions())
        {
            try
            {
                return (candidate, candidate.Decrypt(wire));
            }
            catch (ProtocolException exception)
            {
                last = exception;
            }
        }
        throw last is { Reason: ProtocolError.DuplicateMessage } ? last : new ProtocolException(ProtocolError.WrongSession, "No session opens this message.");
    }

    private ReceivedEvent Failed(IncomingEnvelope envelope, string? sender, string error, DateTimeOffset now)
    {
        _store.AddMessage(sender ?? "", MessageDirection.In, MessageKind.Failed, MessageStatus.Failed, envelope.MessageId, null, null, now);
        var name = sender is null ? null : _store.Contact(sender)?.Label;
        return new ReceivedEvent(ReceivedKind.Failed, envelope.MessageId, sender, name, null, null, now, error);
    }

    private async Task<Guid> EncryptAndQueueAsync(string accountId, InnerMessageType type, string? body, MessageKind kind, Action? alsoInTransaction)
    {
        var messageId = Guid.NewGuid();
        await WithStoreAsync(() => _store.InTransaction(() =>
        {
            var now = _context.Time.GetUtcNow();
            var session = _store.LoadSession(accountId)
                ?? throw new CliException(ExitCodes.NotFound, $"There is no session with {accountId}: invite them again.");
            var payload = session.Encrypt(new InnerMessage(type, Profile.DisplayName, body, now).ToBytes());
            alsoInTransaction?.Invoke();
            _store.SaveSession(session, now);
            _store.AddMessage(accountId, MessageDirection.Out, kind, MessageStatus.Queued, messageId, body, now, now);
            _store.AddOutbox(new OutboxRow(messageId, accountId, payload), now);
        }));
        return messageId;
    }

    private Guid[] PendingAcknowledgements()
    {
        lock (_pendingLock)
        {
            return [.. _pendingAcknowledgements];
        }
    }

    private void ForgetPending(IReadOnlyCollection<Guid> acknowledged)
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

    private Task<RequestRow> FindRequestAsync(string reference) => WithStoreAsync(() =>
    {
        var requests = _store.Requests();
        var matches = requests.Where(r => r.AccountId == reference).ToList();
        if (matches.Count == 0)
        {
            matches = [.. requests.Where(r => string.Equals(r.DisplayName, reference, StringComparison.OrdinalIgnoreCase))];
        }
        return matches.Count switch
        {
            1 => matches[0],
            0 => throw new CliException(ExitCodes.NotFound, $"No pending request from '{reference}'. 'pigeon requests' lists them (run 'pigeon sync' to fetch new ones)."),
            _ => throw new CliException(ExitCodes.UsageError, $"Several requests come from someone called '{reference}': name one by its id."),
        };
    });

    private async Task<T> WithStoreAsync<T>(Func<T> work)
    {
        await _storeLock.WaitAsync();
        try
        {
            return work();
        }
        finally
        {
            _storeLock.Release();
        }
    }

    private Task WithStoreAsync(Action work) => WithStoreAsync(() =>
    {
        work();
        return true;
    });

    private static async Task ServerErrorsAsCliErrors(Uri server, Func<Task> call, string? accountId) =>
        await ServerErrorsAsCliErrors(server, async () =>
        {
            await call();
            return true;
        }, accountId);

    private static async Task<T> ServerErrorsAsCliErrors<T>(Uri server, Func<Task<T>> call, string? accountId)
    {
        try
        {
            return await call();
        }
        catch (Exception exception) when (exception is HttpRequestException or TimeoutException)
        {
            throw new CliException(ExitCodes.ServerUnreachable,
                $"Cannot reach the server at {server}: {Describe(exception)}. Check the address and your connection, then try again.", exception);
        }
        catch (PigeonApiException exception) when (exception.IsTransient)
        {
            throw new CliException(ExitCodes.ServerUnreachable,
                $"The server at {server} is unavailable ({(int)exception.Status}{(exception.Title is { } title ? ": " + title : "")}). Try again later.", exception);
        }
        catch (PigeonApiException exception)
        {
            var message = exception.Type switch
            {
                ProblemTypes.AccountNotFound when accountId is not null =>
                    $"No account has the id {accountId} on this server. Check the id with your contact.",
                ProblemTypes.AccountNotFound =>
                    "The server does not know this profile's account (was the server reset?).",
                ProblemTypes.PrekeysUnavailable =>
                    $"{accountId} has no keys published on the server yet; they should run 'pigeon sync'.",
                ProblemTypes.ChallengeFailed =>
                    "The server refused to sign this profile in: its identity is not the one registered.",
                _ => $"The server refused the request ({(int)exception.Status}): {exception.Message}",
            };
            throw new CliException(ExitCodes.ServerRefused, message, exception);
        }
    }

    private static string Describe(Exception exception) => exception switch
    {
        TimeoutException => "the request timed out",
        HttpRequestException { InnerException: { } inner } => inner.Message,
        _ => exception.Message,
    };
}
