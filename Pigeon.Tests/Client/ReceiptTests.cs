using Pigeon.Messaging.Delivery;
using Pigeon.Messaging.Profiles;

namespace Pigeon.Tests.Client;

/// <summary>Delivery and read receipts and typing indicators between client cores over the API in memory.</summary>
public sealed class ReceiptTests : IDisposable
{
    private readonly InMemoryApi _api = new();
    private readonly CoreProfiles _profiles;

    public ReceiptTests() => _profiles = new CoreProfiles(_api);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _profiles.Dispose();

    [Fact]
    public async Task ReceiptsMoveASentMessageToDeliveredThenRead_AndWithReadReceiptsOffNoneIsSent()
    {
        using var alice = await _profiles.CreateAsync("alice");
        using var bob = await _profiles.CreateAsync("bob");
        await BefriendAsync(alice, bob);
        var bobAsSeenByAlice = await alice.Contacts.ResolveAsync("bob");
        var aliceAsSeenByBob = await bob.Contacts.ResolveAsync("alice");

        var sent = await alice.Outbox.SendAsync(bobAsSeenByAlice, "hello", Ct);
        Assert.Equal("sent", await StateAsync(alice, "bob", sent));
        await PollAsync(bob);
        var delivered = Assert.Single(await PollAsync(alice));
        Assert.Equal((ReceivedKind.Delivered, bob.Profile.AccountId), (delivered.Kind, delivered.ContactId));
        Assert.Equal([sent], delivered.MessageIds);
        Assert.Equal("delivered", await StateAsync(alice, "bob", sent));
        Assert.Equal(1, (await bob.Contacts.UnreadCountsAsync())[alice.Profile.AccountId]);

        Assert.Equal([sent], await bob.Contacts.MarkReadAsync(aliceAsSeenByBob, Ct));
        Assert.Empty(await bob.Contacts.UnreadCountsAsync());
        Assert.Equal(ReceivedKind.Read, Assert.Single(await PollAsync(alice)).Kind);
        Assert.Equal("read", await StateAsync(alice, "bob", sent));
        Assert.Empty(await bob.Contacts.MarkReadAsync(aliceAsSeenByBob, Ct));

        // Off: the text is still marked read here, but nothing tells Alice.
        await bob.SaveSettingsAsync(new ProfileSettings(ReadReceipts: false, TypingIndicators: false));
        var second = await alice.Outbox.SendAsync(bobAsSeenByAlice, "again", Ct);
        await PollAsync(bob);
        Assert.Equal([second], await bob.Contacts.MarkReadAsync(aliceAsSeenByBob, Ct));
        Assert.False(await bob.Outbox.SendTypingAsync(aliceAsSeenByBob, true, Ct));
        Assert.Equal([ReceivedKind.Delivered], (await PollAsync(alice)).Select(e => e.Kind));
        Assert.Empty(await PollAsync(alice));
        Assert.Equal("delivered", await StateAsync(alice, "bob", second));
    }

    [Fact]
    public async Task TypingIndicators_ArriveAsEvents_AndAreNotHistory()
    {
        using var alice = await _profiles.CreateAsync("alice");
        using var bob = await _profiles.CreateAsync("bob");
        await BefriendAsync(alice, bob);
        var before = (await alice.Contacts.HistoryAsync("bob", 100)).Messages.Count;

        Assert.True(await bob.Outbox.SendTypingAsync(await bob.Contacts.ResolveAsync("alice"), true, Ct));
        Assert.True(await bob.Outbox.SendTypingAsync(await bob.Contacts.ResolveAsync("alice"), false, Ct));

        Assert.Equal([true, false], (await PollAsync(alice)).Select(e => e.IsTyping));
        Assert.Equal(before, (await alice.Contacts.HistoryAsync("bob", 100)).Messages.Count);
        Assert.Equal(before, (await bob.Contacts.HistoryAsync("alice", 100)).Messages.Count);
    }

    [Fact]
    public async Task AReceipt_CountsOnlyForMessagesSentToTheContactWhoSendsIt()
    {
        using var alice = await _profiles.CreateAsync("alice");
        using var bob = await _profiles.CreateAsync("bob");
        using var carol = await _profiles.CreateAsync("carol");
        await BefriendAsync(alice, bob);
        await BefriendAsync(alice, carol);
        var toCarol = await alice.Outbox.SendAsync(await alice.Contacts.ResolveAsync("carol"), "for carol only", Ct);

        // Bob claims to have read Alice's message to Carol.
        await bob.Outbox.QueueReceiptAsync(alice.Profile.AccountId, InnerMessageType.Read, [toCarol]);
        await bob.Outbox.DeliverAsync(Ct);
        // It names nothing Alice sent Bob: nothing is marked, and nothing is shown.
        Assert.Empty(await PollAsync(alice));
        Assert.Equal("sent", await StateAsync(alice, "carol", toCarol));
    }

    [Fact]
    public async Task HeldMessages_StayUntilReleased_AcrossAReopenedProfile()
    {
        using var alice = await _profiles.CreateAsync("alice");
        using var bob = await _profiles.CreateAsync("bob");
        await BefriendAsync(alice, bob);
        bob.Inbox.HoldForIntegration = true;
        var sent = await alice.Outbox.SendAsync(await alice.Contacts.ResolveAsync("bob"), "keep me", Ct);
        await PollAsync(bob);

        using var reopened = _profiles.Open("bob");
        var held = Assert.Single(await reopened.Inbox.HeldAsync());
        Assert.Equal((sent, ReceivedKind.Text, "keep me", "alice"), (held.MessageId, held.Kind, held.Body, held.ContactName));
        Assert.Empty(await reopened.Inbox.ReleaseAsync([sent]));
        Assert.Empty(await reopened.Inbox.HeldAsync());
        Assert.Equal([sent], await reopened.Inbox.ReleaseAsync([sent]));
    }

    private static async Task BefriendAsync(ProfileSession inviter, ProfileSession invitee)
    {
        await inviter.Contacts.InviteAsync(invitee.Profile.AccountId, null, Ct);
        await PollAsync(invitee);
        await invitee.Contacts.AcceptAsync(inviter.Profile.DisplayName, Ct);
        await PollAsync(inviter);
    }

    // Polls until the mailbox is empty (acknowledging as it goes) and returns what arrived.
    private static async Task<List<ReceivedEvent>> PollAsync(ProfileSession session)
    {
        var events = new List<ReceivedEvent>();
        long after = 0;
        PollResult result;
        do
        {
            result = await session.Inbox.PollAsync(after, TimeSpan.Zero, Ct);
            after = result.LastSequence;
            events.AddRange(result.Events);
        }
        while (result.HasMore || result.Events.Count > 0);
        await session.Inbox.AcknowledgeAsync(Ct);
        return events;
    }

    private static async Task<string> StateAsync(ProfileSession session, string contact, Guid messageId) =>
        (await session.Contacts.HistoryAsync(contact, 100)).Messages.Single(m => m.MessageId == messageId).State;
}
