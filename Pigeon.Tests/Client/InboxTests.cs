using System.Security.Cryptography;
using Pigeon.Api;
using Pigeon.Messaging;
using Pigeon.Messaging.Delivery;
using Pigeon.Messaging.Devices;
using Pigeon.Messaging.Store;
using Pigeon.Protocol;
using Pigeon.Protocol.Envelope;
using SealedEnvelope = Pigeon.Protocol.Envelope.SealedEnvelope;

namespace Pigeon.Tests.Client;

/// <summary>
/// The client core's inbox against the API in memory (<see cref="InMemoryApi"/>), without processes:
/// it decrypts and stores what arrives, acknowledges only what it stored and on the next poll,
/// recognises redeliveries, and records what it cannot read without blocking the queue.
/// </summary>
public sealed class InboxTests : IDisposable
{
    private readonly InMemoryApi _api = new();
    private readonly CoreProfiles _profiles;

    public InboxTests() => _profiles = new CoreProfiles(_api);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _profiles.Dispose();

    [Fact]
    public async Task Poll_DecryptsAndStoresARequest_AndAcknowledgesItOnTheNextPoll()
    {
        using var alice = await _profiles.CreateAsync("alice");
        using var bob = await _profiles.CreateAsync("bob");
        await alice.Contacts.InviteAsync(bob.Profile.AccountId, "hello Bob", Ct);

        var first = await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct);

        var request = Assert.Single(first.Events);
        Assert.Equal((ReceivedKind.Request, alice.Profile.AccountId, "alice", "hello Bob"), (request.Kind, request.ContactId, request.ContactName, request.Body));
        Assert.Equal("hello Bob", Assert.Single(await bob.Contacts.RequestsAsync()).Message);
        // Stored, not yet acknowledged: the server still holds it until the next poll says so.
        Assert.Equal([request.MessageId], _api.MailboxOf(bob.Profile.AccountId));
        Assert.Equal(1, bob.Inbox.PendingAcknowledgements);

        var second = await bob.Inbox.PollAsync(first.LastSequence, TimeSpan.Zero, Ct);

        Assert.Empty(second.Events);
        Assert.Empty(_api.MailboxOf(bob.Profile.AccountId));
        Assert.Equal(0, bob.Inbox.PendingAcknowledgements);
        Assert.Contains($"GET /v1/messages?after={first.LastSequence}&wait=0&ack={request.MessageId}", _api.Requests);
    }

    [Fact]
    public async Task AcceptedRequest_AndTexts_ArriveBothWays_InTheirSessions()
    {
        using var alice = await _profiles.CreateAsync("alice");
        using var bob = await _profiles.CreateAsync("bob");
        await alice.Contacts.InviteAsync(bob.Profile.AccountId, null, Ct);
        await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct);
        await bob.Contacts.AcceptAsync("alice", Ct);

        var accepted = Assert.Single((await alice.Inbox.PollAsync(0, TimeSpan.Zero, Ct)).Events);
        await alice.Outbox.SendAsync(await alice.Contacts.ResolveAsync("bob"), "one", Ct);
        await alice.Outbox.SendAsync(await alice.Contacts.ResolveAsync("bob"), "two", Ct);
        var texts = await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct);

        Assert.Equal(ReceivedKind.Accepted, accepted.Kind);
        Assert.Equal(ContactState.Accepted, (await alice.Contacts.ResolveAsync("bob")).State);
        Assert.Equal(["one", "two"], texts.Events.Select(e => e.Body));
        Assert.All(texts.Events, e => Assert.Equal(ReceivedKind.Text, e.Kind));
        var (_, history) = await bob.Contacts.HistoryAsync("alice", 10);
        Assert.Equal([MessageKind.Request, MessageKind.Accepted, MessageKind.Text, MessageKind.Text], history.Select(m => m.Kind));
    }

    [Fact]
    public async Task EveryDeposit_IsASealedEnvelope_ThatOnlyItsRecipientOpens_AndThatProvesItsSender()
    {
        using var alice = await _profiles.CreateAsync("alice");
        using var bob = await _profiles.CreateAsync("bob");
        using var carol = await _profiles.CreateAsync("carol");
        await alice.Contacts.InviteAsync(bob.Profile.AccountId, "hello Bob", Ct);

        var payload = Assert.Single(_api.PayloadsOf(bob.Profile.AccountId));
        var opened = SealedEnvelope.Open(bob.Identity, DeviceAddress.Primary(bob.Profile.AccountId), payload);

        Assert.Equal(DeviceAddress.Primary(alice.Profile.AccountId), opened.Sender);
        Assert.Equal(EnvelopeContentType.RatchetMessage, opened.ContentType);
        Assert.Equal(ProtocolError.DecryptionFailed,
            Assert.Throws<ProtocolException>(() => SealedEnvelope.Open(carol.Identity, DeviceAddress.Primary(carol.Profile.AccountId), payload)).Reason);
    }

    [Fact]
    public async Task AContactsMessage_ResealedByAnotherAccount_FailsAsThatAccounts_AndLeavesTheContactsSessionAsItWas()
    {
        using var alice = await _profiles.CreateAsync("alice");
        using var bob = await _profiles.CreateAsync("bob");
        using var mallory = await _profiles.CreateAsync("mallory");
        await alice.Contacts.InviteAsync(bob.Profile.AccountId, null, Ct);
        var poll = await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct);
        await bob.Contacts.AcceptAsync("alice", Ct);
        await alice.Inbox.PollAsync(0, TimeSpan.Zero, Ct);
        await alice.Outbox.SendAsync(await alice.Contacts.ResolveAsync("bob"), "from alice", Ct);

        // Mallory takes Alice's ratchet message out of its envelope and seals it to Bob as her own.
        var original = _api.PayloadsOf(bob.Profile.AccountId)[^1];
        var ratchet = SealedEnvelope.Open(bob.Identity, DeviceAddress.Primary(bob.Profile.AccountId), original).Content;
        var resealed = SealedEnvelope.Seal(mallory.Identity, DeviceAddress.PrimaryDeviceId, bob.Identity.PublicIdentity,
            DeviceAddress.Primary(bob.Profile.AccountId), EnvelopeContentType.RatchetMessage, ratchet);
        var forged = Guid.NewGuid();
        _api.Put(bob.Profile.AccountId, forged, resealed);
        var events = (await bob.Inbox.PollAsync(poll.LastSequence, TimeSpan.Zero, Ct)).Events;

        // Alice's own envelope came first and decrypted; Mallory's is tried only against a session with Mallory.
        Assert.Equal([(ReceivedKind.Text, alice.Profile.AccountId, "from alice"), (ReceivedKind.Failed, mallory.Profile.AccountId, null)],
            events.Select(e => (e.Kind, e.ContactId!, e.Body)));
        Assert.Equal(forged, events[1].MessageId);
        var (_, history) = await bob.Contacts.HistoryAsync("alice", 10);
        Assert.Equal([MessageKind.Request, MessageKind.Accepted, MessageKind.Text], history.Select(m => m.Kind));
    }

    [Fact]
    public async Task AContactChangeFromAnotherOfOurDevices_IsMadeHereToo_ButOneAboutOurOwnAccountIsRefused()
    {
        using var alice = await _profiles.CreateAsync("alice");
        using var bob = await _profiles.CreateAsync("bob");
        // Alice's device 2, holding her identity as every device of the account does, with a session to device 1.
        var bundle = (await bob.CallServerAsync(api => api.FetchBundleAsync(alice.Profile.AccountId, 1, Ct))).ToBundle();
        var fromDeviceTwo = Session.Initiate(alice.Identity, bundle, alice.Profile.AccountId);
        void Sync(ContactSync change) => _api.Put(alice.Profile.AccountId, Guid.NewGuid(), SealedEnvelope.Seal(alice.Identity, 2, alice.Identity.PublicIdentity,
            alice.Address, EnvelopeContentType.RatchetMessage,
            fromDeviceTwo.Encrypt(new InnerMessage(InnerMessageType.ContactSync, "Alice", null, DateTimeOffset.UtcNow, Contact: change).ToBytes())));

        Sync(new ContactSync(bob.Profile.AccountId, ContactChange.Saved, "Bob", bob.Identity.PublicIdentity.ToBytes(), ContactState.Accepted, true, 0, 3600));
        Sync(new ContactSync(alice.Profile.AccountId, ContactChange.Removed));
        var first = await alice.Inbox.PollAsync(0, TimeSpan.Zero, Ct);

        Assert.Equal([ReceivedKind.ContactSync, ReceivedKind.Failed], first.Events.Select(e => e.Kind));
        var contact = await alice.Contacts.ResolveAsync("Bob");
        Assert.Equal((ContactState.Accepted, true, TimeSpan.FromHours(1)), (contact.State, contact.Verified, contact.Timer));
        Assert.NotNull(await alice.WithStoreAsync(database => database.DeliveryKeys.Load(alice.Profile.AccountId)));

        Sync(new ContactSync(bob.Profile.AccountId, ContactChange.Removed));
        var second = await alice.Inbox.PollAsync(first.LastSequence, TimeSpan.Zero, Ct);
        Assert.Equal(ContactChange.Removed, Assert.Single(second.Events).ContactChange);
        Assert.Empty(await alice.Contacts.AllAsync());
    }

    [Fact]
    public async Task SimultaneousInvites_ConvergeOnOneSession_AndMessagesThenFlowBothWays()
    {
        using var alice = await _profiles.CreateAsync("alice");
        using var bob = await _profiles.CreateAsync("bob");
        await alice.Contacts.InviteAsync(bob.Profile.AccountId, null, Ct);
        await bob.Contacts.InviteAsync(alice.Profile.AccountId, null, Ct);
        var aliceCursor = (await alice.Inbox.PollAsync(0, TimeSpan.Zero, Ct)).LastSequence;
        var bobCursor = (await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct)).LastSequence;

        var received = new List<(string, string?, string?)>();
        foreach (var round in new[] { "1", "2" })
        {
            await alice.Outbox.SendAsync(await alice.Contacts.ResolveAsync("bob"), "alice " + round, Ct);
            await bob.Outbox.SendAsync(await bob.Contacts.ResolveAsync("alice"), "bob " + round, Ct);
            var atBob = await bob.Inbox.PollAsync(bobCursor, TimeSpan.Zero, Ct);
            var atAlice = await alice.Inbox.PollAsync(aliceCursor, TimeSpan.Zero, Ct);
            (bobCursor, aliceCursor) = (atBob.LastSequence, atAlice.LastSequence);
            // Delivery receipts for the texts arrive in between; this is about the texts.
            received.AddRange(atBob.Events.Concat(atAlice.Events).Where(e => e.Kind != ReceivedKind.Delivered).Select(e => (e.Kind.ToString(), e.ContactId, e.Body)));
        }

        Assert.Equal(
            [("Text", alice.Profile.AccountId, "alice 1"), ("Text", bob.Profile.AccountId, "bob 1"),
             ("Text", alice.Profile.AccountId, "alice 2"), ("Text", bob.Profile.AccountId, "bob 2")],
            received);
        var aliceCurrent = await alice.WithStoreAsync(database => database.Sessions.Load(bob.Address)!.Current!.SessionId);
        var bobCurrent = await bob.WithStoreAsync(database => database.Sessions.Load(alice.Address)!.Current!.SessionId);
        Assert.Equal(aliceCurrent, bobCurrent);
        Assert.Equal(ContactState.Accepted, (await alice.Contacts.ResolveAsync("bob")).State);
        Assert.Equal(ContactState.Accepted, (await bob.Contacts.ResolveAsync("alice")).State);
    }

    [Fact]
    public async Task AReplayedFirstMessage_IsRefusedAsTheSenders_AndNeverShownAsANewRequest()
    {
        using var alice = await _profiles.CreateAsync("alice");
        using var bob = await _profiles.CreateAsync("bob");
        await alice.Contacts.InviteAsync(bob.Profile.AccountId, "only once", Ct);
        var first = Assert.Single(_api.PayloadsOf(bob.Profile.AccountId));
        var cursor = (await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct)).LastSequence;
        await bob.Contacts.AcceptAsync("alice", Ct);
        await alice.Inbox.PollAsync(0, TimeSpan.Zero, Ct);

        // Someone with access to the server deposits Alice's first message again, under a new id.
        _api.Put(bob.Profile.AccountId, Guid.NewGuid(), first);
        await alice.Outbox.SendAsync(await alice.Contacts.ResolveAsync("bob"), "after the replay", Ct);
        var events = (await bob.Inbox.PollAsync(cursor, TimeSpan.Zero, Ct)).Events;

        Assert.Equal([ReceivedKind.Failed, ReceivedKind.Text], events.Select(e => e.Kind));
        Assert.Equal(alice.Profile.AccountId, events[0].ContactId);
        Assert.Contains("DuplicateMessage", events[0].Error, StringComparison.Ordinal);
        Assert.Equal("after the replay", events[1].Body);
        Assert.Empty(await bob.Contacts.RequestsAsync());
        var (_, history) = await bob.Contacts.HistoryAsync("alice", 10);
        Assert.Single(history, m => m.Kind == MessageKind.Request);
    }

    [Fact]
    public async Task AMessageThatDoesNotDecrypt_GetsANotice_AndItsSenderStartsANewSession_ThatWorksBothWays()
    {
        using var alice = await _profiles.CreateAsync("alice");
        using var bob = await _profiles.CreateAsync("bob");
        await alice.Contacts.InviteAsync(bob.Profile.AccountId, null, Ct);
        var bobCursor = (await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct)).LastSequence;
        await bob.Contacts.AcceptAsync("alice", Ct);
        var aliceCursor = (await alice.Inbox.PollAsync(0, TimeSpan.Zero, Ct)).LastSequence;
        var broken = await alice.WithStoreAsync(database => database.Sessions.Load(bob.Address)!.Current!.SessionId);

        // Bob loses his sessions (a restored backup, say): Alice's next message cannot decrypt.
        await bob.WithStoreAsync(database => database.Sessions.Delete(alice.Profile.AccountId));
        await alice.Outbox.SendAsync(await alice.Contacts.ResolveAsync("bob"), "lost", Ct);
        var atBob = await bob.Inbox.PollAsync(bobCursor, TimeSpan.Zero, Ct);
        var atAlice = await alice.Inbox.PollAsync(aliceCursor, TimeSpan.Zero, Ct);
        var restarted = await bob.Inbox.PollAsync(atBob.LastSequence, TimeSpan.Zero, Ct);
        await alice.Outbox.SendAsync(await alice.Contacts.ResolveAsync("bob"), "after the restart", Ct);
        await bob.Outbox.SendAsync(await bob.Contacts.ResolveAsync("alice"), "and back", Ct);
        var later = await bob.Inbox.PollAsync(restarted.LastSequence, TimeSpan.Zero, Ct);
        var back = await alice.Inbox.PollAsync(atAlice.LastSequence, TimeSpan.Zero, Ct);

        var failure = Assert.Single(atBob.Events);
        Assert.Equal((ReceivedKind.Failed, alice.Profile.AccountId), (failure.Kind, failure.ContactId));
        var notice = Assert.Single(atAlice.Events);
        Assert.Equal((ReceivedKind.Failed, bob.Profile.AccountId), (notice.Kind, notice.ContactId));
        Assert.Contains("starting a new session and sending it again", notice.Error, StringComparison.Ordinal);
        // The new session's request reaches Bob as from a contact (no new request to accept), and the
        // lost text comes again in it; Alice's history keeps it once, sent.
        Assert.Equal([(ReceivedKind.Accepted, null), (ReceivedKind.Text, "lost")], restarted.Events.Select(e => (e.Kind, e.Body)));
        Assert.All(restarted.Events, e => Assert.Equal(alice.Profile.AccountId, e.ContactId));
        var (_, aliceHistory) = await alice.Contacts.HistoryAsync("bob", 20);
        Assert.Equal(MessageStatus.Sent, Assert.Single(aliceHistory, m => m.Body == "lost").Status);
        Assert.Empty(await bob.Contacts.RequestsAsync());
        Assert.Equal(["after the restart"], later.Events.Select(e => e.Body));
        Assert.Equal(["and back"], back.Events.Where(e => e.Kind == ReceivedKind.Text).Select(e => e.Body));
        var current = await alice.WithStoreAsync(database => database.Sessions.Load(bob.Address)!.Current!.SessionId);
        Assert.NotEqual(broken, current);
    }

    [Fact]
    public async Task AMessageDelayedPastANewSession_DecryptsInTheArchivedOne_AndSaysSo()
    {
        using var alice = await _profiles.CreateAsync("alice");
        using var bob = await _profiles.CreateAsync("bob");
        await alice.Contacts.InviteAsync(bob.Profile.AccountId, null, Ct);
        var cursor = (await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct)).LastSequence;
        await bob.Contacts.AcceptAsync("alice", Ct);
        await alice.Inbox.PollAsync(0, TimeSpan.Zero, Ct);

        // The server holds back a text of the first session while Alice starts a second one.
        await alice.Outbox.SendAsync(await alice.Contacts.ResolveAsync("bob"), "late", Ct);
        var delayed = _api.Take(bob.Profile.AccountId)[^1];
        await alice.Contacts.RestartSessionAsync(bob.Address, Ct);
        await alice.Outbox.DeliverAsync(Ct);
        var restarted = await bob.Inbox.PollAsync(cursor, TimeSpan.Zero, Ct);
        _api.Put(bob.Profile.AccountId, delayed.MessageId, delayed.Payload);
        var late = await bob.Inbox.PollAsync(restarted.LastSequence, TimeSpan.Zero, Ct);

        Assert.False(Assert.Single(restarted.Events).OnEarlierSession);
        var text = Assert.Single(late.Events);
        Assert.Equal((ReceivedKind.Text, "late", true), (text.Kind, text.Body, text.OnEarlierSession));
    }

    [Fact]
    public async Task Redelivery_OfAStoredEnvelope_IsCountedAsADuplicate_NotStoredTwice_AndAcknowledgedAgain()
    {
        using var alice = await _profiles.CreateAsync("alice");
        using var bob = await _profiles.CreateAsync("bob");
        await alice.Contacts.InviteAsync(bob.Profile.AccountId, "once", Ct);
        var first = await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct);
        var envelope = Assert.Single(first.Events).MessageId;
        await bob.Inbox.AcknowledgeAsync(Ct);

        // The acknowledgement's answer was lost, say, and the server delivers the envelope again.
        _api.Put(bob.Profile.AccountId, envelope, RandomNumberGenerator.GetBytes(64));
        var again = await bob.Inbox.PollAsync(first.LastSequence, TimeSpan.Zero, Ct);
        await bob.Inbox.AcknowledgeAsync(Ct);

        Assert.Empty(again.Events);
        Assert.Equal(1, again.Duplicates);
        Assert.Single((await bob.Contacts.RequestsAsync()));
        Assert.Empty(_api.MailboxOf(bob.Profile.AccountId));
    }

    [Fact]
    public async Task Garbage_IsReportedAndRecordedAsFailed_AndAcknowledged_SoItBlocksNothing()
    {
        using var bob = await _profiles.CreateAsync("bob");
        var garbage = Guid.NewGuid();
        _api.Put(bob.Profile.AccountId, garbage, RandomNumberGenerator.GetBytes(200));

        var poll = await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct);
        var deleted = await bob.Inbox.AcknowledgeAsync(Ct);

        var failed = Assert.Single(poll.Events);
        Assert.Equal((ReceivedKind.Failed, garbage), (failed.Kind, failed.MessageId));
        Assert.Contains("could not be decrypted", failed.Error, StringComparison.Ordinal);
        // No envelope proves who sent it: it is nobody's.
        Assert.Null(failed.ContactId);
        Assert.Equal(1, deleted);
        Assert.Empty(_api.MailboxOf(bob.Profile.AccountId));
    }

    [Fact]
    public async Task PendingAcknowledgements_BeyondWhatAPollMayCarry_ArePostedBeforeTheNextPoll()
    {
        _api.ReceiveBatch = ApiLimits.MaxReceiveBatch + 50;
        using var bob = await _profiles.CreateAsync("bob");
        for (var i = 0; i < _api.ReceiveBatch; i++)
        {
            _api.Put(bob.Profile.AccountId, Guid.NewGuid(), RandomNumberGenerator.GetBytes(80));
        }

        var first = await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct);
        var before = _api.Requests.Count;
        await bob.Inbox.PollAsync(first.LastSequence, TimeSpan.Zero, Ct);

        Assert.Equal(_api.ReceiveBatch, first.Events.Count);
        Assert.Equal(["POST /v1/messages/ack", $"GET /v1/messages?after={first.LastSequence}&wait=0"], _api.Requests.Skip(before));
        Assert.Empty(_api.MailboxOf(bob.Profile.AccountId));
    }

    [Fact]
    public async Task AFailedPoll_KeepsItsAcknowledgementsPending_AndTheNextOneCarriesThem()
    {
        using var bob = await _profiles.CreateAsync("bob");
        var stored = Guid.NewGuid();
        _api.Put(bob.Profile.AccountId, stored, RandomNumberGenerator.GetBytes(80));
        var first = await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct);
        _api.Intercept = (_, _) => Task.FromResult<HttpResponseMessage?>(
            InMemoryApi.Problem(System.Net.HttpStatusCode.ServiceUnavailable, ProblemTypes.Unavailable, "Try again."));

        await Assert.ThrowsAsync<Pigeon.Messaging.ServerUnreachableException>(() => bob.Inbox.PollAsync(first.LastSequence, TimeSpan.Zero, Ct));
        _api.Intercept = null;
        await bob.Inbox.PollAsync(first.LastSequence, TimeSpan.Zero, Ct);

        Assert.Equal(2, _api.Requests.Count(r => r.EndsWith($"&ack={stored}", StringComparison.Ordinal)));
        Assert.Empty(_api.MailboxOf(bob.Profile.AccountId));
    }
}
