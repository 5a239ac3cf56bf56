using Microsoft.Extensions.Time.Testing;
using Pigeon.Messaging;
using Pigeon.Messaging.Delivery;
using Pigeon.Messaging.Profiles;

namespace Pigeon.Tests.Client;

/// <summary>
/// Removing and blocking contacts, and what strangers may leave in a profile, in the client core over
/// the API in memory: a removal rotates the delivery key so the removed contact can no longer deposit
/// sealed while the others get the new key; a blocked account's envelopes are dropped unanswered; the
/// requests and sessions of strangers are bounded and pruned.
/// </summary>
public sealed class ContactRemovalTests : IDisposable
{
    private readonly InMemoryApi _api = new();
    private readonly CoreProfiles _profiles;

    public ContactRemovalTests() => _profiles = new CoreProfiles(_api);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _profiles.Dispose();

    [Fact]
    public async Task Remove_RotatesTheDeliveryKey_SoTheRemovedContactDepositsOnlyIdentified_AndIsRefused_WhileTheOthersStaySealed()
    {
        using var alice = await _profiles.CreateAsync("alice");
        using var bob = await _profiles.CreateAsync("bob");
        using var carol = await _profiles.CreateAsync("carol");
        await MakeContactsAsync(alice, bob);
        await MakeContactsAsync(alice, carol);
        var before = await alice.WithStoreAsync(database => database.DeliveryKeys.Load(alice.Profile.AccountId)!.Epoch);

        await alice.Contacts.RemoveAsync("bob", Ct);
        var keyUpdate = await carol.Inbox.PollAsync(0, TimeSpan.Zero, Ct);
        _api.Requests.Clear();
        await carol.Outbox.SendAsync(await carol.Contacts.ResolveAsync("alice"), "still sealed", Ct);
        var carolsDeposits = Deposits();
        _api.Requests.Clear();
        await bob.Outbox.SendAsync(await bob.Contacts.ResolveAsync("alice"), "am I still here?", Ct);
        var bobsDeposits = Deposits();
        var atAlice = await alice.Inbox.PollAsync(0, TimeSpan.Zero, Ct);

        Assert.Equal(before + 1, await alice.WithStoreAsync(database => database.DeliveryKeys.Load(alice.Profile.AccountId)!.Epoch));
        // The key update is shown nowhere, and Carol holds the new key: her deposit goes sealed at once.
        Assert.Empty(keyUpdate.Events);
        Assert.Equal(before + 1, await carol.WithStoreAsync(database => database.DeliveryKeys.Load(alice.Profile.AccountId)!.Epoch));
        Assert.Equal(["POST /v1/messages/sealed"], carolsDeposits);
        // Bob's old key is refused; he can only identify himself, and he is nobody to Alice now.
        Assert.Equal(["POST /v1/messages/sealed", "POST /v1/messages"], bobsDeposits);
        Assert.Equal("still sealed", Assert.Single(atAlice.Events, e => e.ContactId == carol.Profile.AccountId).Body);
        // Alice kept no session with him, so his message cannot decrypt; no notice goes back to a non-contact.
        Assert.Equal(ReceivedKind.Failed, Assert.Single(atAlice.Events, e => e.ContactId == bob.Profile.AccountId).Kind);
        Assert.Empty(_api.MailboxOf(bob.Profile.AccountId));
        Assert.DoesNotContain(await alice.Contacts.AllAsync(), c => c.AccountId == bob.Profile.AccountId);
        Assert.Null(await alice.WithStoreAsync(database => database.Sessions.Load(bob.Address)));
        Assert.Null(await alice.WithStoreAsync(database => database.DeliveryKeys.Load(bob.Profile.AccountId)));
    }

    [Fact]
    public async Task Remove_WithTheServerDown_ChangesNothing()
    {
        using var alice = await _profiles.CreateAsync("alice");
        using var bob = await _profiles.CreateAsync("bob");
        await MakeContactsAsync(alice, bob);
        _api.Intercept = (_, _) => throw new HttpRequestException("connection refused");

        await Assert.ThrowsAsync<ServerUnreachableException>(() => alice.Contacts.RemoveAsync("bob", Ct));

        Assert.Contains(await alice.Contacts.AllAsync(), c => c.AccountId == bob.Profile.AccountId);
        Assert.NotNull(await alice.WithStoreAsync(database => database.Sessions.Load(bob.Address)));
        Assert.Equal(1u, await alice.WithStoreAsync(database => database.DeliveryKeys.Load(alice.Profile.AccountId)!.Epoch));
    }

    [Fact]
    public async Task Block_DropsWhatTheAccountSends_UnreadAndUnanswered_AndInvitingItIsRefused_UntilUnblocked()
    {
        using var alice = await _profiles.CreateAsync("alice");
        using var bob = await _profiles.CreateAsync("bob");
        using var carol = await _profiles.CreateAsync("carol");
        await MakeContactsAsync(alice, bob);
        await carol.Contacts.InviteAsync(alice.Profile.AccountId, "let me in", Ct);
        var cursor = (await alice.Inbox.PollAsync(0, TimeSpan.Zero, Ct)).LastSequence;

        var blockedContact = await alice.Contacts.BlockAsync("bob", Ct);
        var blockedRequester = await alice.Contacts.BlockAsync("carol", Ct);
        await bob.Outbox.SendAsync(await bob.Contacts.ResolveAsync("alice"), "hello?", Ct);
        await carol.Outbox.SendAsync(await carol.Contacts.ResolveAsync(alice.Profile.AccountId), "hello??", Ct);
        var poll = await alice.Inbox.PollAsync(cursor, TimeSpan.Zero, Ct);
        await alice.Inbox.AcknowledgeAsync(Ct);

        Assert.Equal((bob.Profile.AccountId, "bob"), blockedContact);
        Assert.Equal((carol.Profile.AccountId, "carol"), blockedRequester);
        Assert.Empty(poll.Events);
        Assert.Equal(0, poll.Duplicates);
        Assert.Empty(_api.MailboxOf(alice.Profile.AccountId));
        Assert.Empty(await alice.Contacts.RequestsAsync());
        Assert.Empty(await alice.Contacts.AllAsync());
        // No decryption-error notice or anything else went back.
        Assert.Empty(_api.MailboxOf(bob.Profile.AccountId));
        Assert.Empty(_api.MailboxOf(carol.Profile.AccountId));
        Assert.Equal(new[] { bob.Profile.AccountId, carol.Profile.AccountId }.Order(), (await alice.Contacts.BlockedAsync()).Select(b => b.AccountId).Order());
        var refused = await Assert.ThrowsAsync<InviteRefusedException>(() => alice.Contacts.InviteAsync(carol.Profile.AccountId, null, Ct));
        Assert.Equal(InviteRefusal.Blocked, refused.Refusal);

        await alice.Contacts.UnblockAsync(carol.Profile.AccountId, Ct);
        await alice.Contacts.InviteAsync(carol.Profile.AccountId, null, Ct);
        await Assert.ThrowsAsync<NotBlockedException>(() => alice.Contacts.UnblockAsync(carol.Profile.AccountId, Ct));
    }

    [Fact]
    public async Task AStrangersText_LeavesNoSessionBehind()
    {
        using var bob = await _profiles.CreateAsync("bob");
        using var carol = await _profiles.CreateAsync("carol");
        await carol.Contacts.InviteAsync(bob.Profile.AccountId, null, Ct);
        var cursor = (await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct)).LastSequence;
        await bob.Contacts.DeclineAsync("carol", Ct);

        // Carol goes on writing in the session Bob forgot with her request.
        await carol.Outbox.SendAsync(await carol.Contacts.ResolveAsync(bob.Profile.AccountId), "ignore me at your peril", Ct);
        var poll = await bob.Inbox.PollAsync(cursor, TimeSpan.Zero, Ct);

        Assert.Equal(ReceivedKind.Failed, Assert.Single(poll.Events).Kind);
        Assert.Null(await bob.WithStoreAsync(database => database.Sessions.Load(carol.Address)));
    }

    [Fact]
    public async Task PendingRequests_AreBounded_AndANewOnePushesOutTheOldestWithItsSession()
    {
        var limited = new CoreProfiles(new MessagingEnvironment
        {
            ConnectApi = _profiles.Environment.ConnectApi,
            KdfParameters = _profiles.Environment.KdfParameters,
            MaxPendingRequests = 2,
        });
        using (limited)
        {
            using var bob = await limited.CreateAsync("bob");
            var senders = new List<ProfileSession>();
            foreach (var name in new[] { "carol", "dave", "erin" })
            {
                var sender = await limited.CreateAsync(name);
                senders.Add(sender);
                await sender.Contacts.InviteAsync(bob.Profile.AccountId, $"from {name}", Ct);
            }

            var poll = await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct);

            Assert.Equal(3, poll.Events.Count(e => e.Kind == ReceivedKind.Request));
            Assert.Equal(["dave", "erin"], (await bob.Contacts.RequestsAsync()).Select(r => r.DisplayName));
            Assert.Null(await bob.WithStoreAsync(database => database.Sessions.Load(senders[0].Address)));
            Assert.Empty((await bob.WithStoreAsync(database => database.Messages.History(senders[0].Profile.AccountId, 10))));
            Assert.NotNull(await bob.WithStoreAsync(database => database.Sessions.Load(senders[2].Address)));
        }
    }

    [Fact]
    public async Task Maintenance_ForgetsRequestsOlderThanTheirRetention_WithTheirSessions()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var profiles = new CoreProfiles(_api, clock);
        using var alice = await profiles.CreateAsync("alice");
        using var bob = await profiles.CreateAsync("bob");
        using var carol = await profiles.CreateAsync("carol");
        await alice.Contacts.InviteAsync(bob.Profile.AccountId, null, Ct);
        await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct);
        clock.Advance(TimeSpan.FromDays(29));
        await carol.Contacts.InviteAsync(bob.Profile.AccountId, null, Ct);
        await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct);

        clock.Advance(TimeSpan.FromDays(2));
        await bob.MaintainAsync(Ct);

        Assert.Equal([carol.Profile.AccountId], (await bob.Contacts.RequestsAsync()).Select(r => r.AccountId));
        Assert.Null(await bob.WithStoreAsync(database => database.Sessions.Load(alice.Address)));
        Assert.NotNull(await bob.WithStoreAsync(database => database.Sessions.Load(carol.Address)));
    }

    private static async Task MakeContactsAsync(ProfileSession inviter, ProfileSession invitee)
    {
        await inviter.Contacts.InviteAsync(invitee.Profile.AccountId, null, Ct);
        await invitee.Inbox.PollAsync(0, TimeSpan.Zero, Ct);
        await invitee.Inbox.AcknowledgeAsync(Ct);
        await invitee.Contacts.AcceptAsync(inviter.Profile.DisplayName, Ct);
        await inviter.Inbox.PollAsync(0, TimeSpan.Zero, Ct);
        await inviter.Inbox.AcknowledgeAsync(Ct);
    }

    private List<string> Deposits() => [.. _api.Requests.Where(r => r.StartsWith("POST /v1/messages", StringComparison.Ordinal) && !r.Contains("/ack", StringComparison.Ordinal))];
}
