using Pigeon.Messaging;
using Pigeon.Messaging.Delivery;
using Pigeon.Messaging.Groups;
using Pigeon.Messaging.Profiles;
using Pigeon.Messaging.Store;
using Pigeon.Tests.Client.Store;

namespace Pigeon.Tests.Client.Groups;

/// <summary>
/// Groups in the client core over the API in memory (ADR 0004): created, changed and left by group
/// updates over the pairwise sessions, texts fanned out in one sealed deposit, members who are not
/// each other's contacts reaching each other from the group, and every member refusing what the
/// group state does not allow.
/// </summary>
public sealed class GroupBookTests : IDisposable
{
    private readonly InMemoryApi _api = new();
    private readonly CoreProfiles _profiles;

    public GroupBookTests() => _profiles = new CoreProfiles(_api);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _profiles.Dispose();

    [Fact]
    public async Task AGroupText_GoesToEveryMemberInOneSealedDeposit_AndMembersWhoAreNotContactsTalkFromTheGroup()
    {
        var (alice, bob, carol) = await ThreeAsync();
        var group = await alice.Groups.CreateAsync("Trip", ["bob", carol.Profile.AccountId], open: false, Ct);
        Assert.Contains((await PollAsync(bob)).Events, e => e.Kind == ReceivedKind.GroupUpdate && e.GroupId == group.IdHex);
        await PollAsync(carol);
        _api.Requests.Clear();

        await alice.Groups.SendAsync("Trip", "one", Ct);
        await alice.Groups.SendAsync(group.IdHex[..8], "two", Ct);

        Assert.Equal(["POST /v1/messages/sealed", "POST /v1/messages/sealed"], Deposits());
        foreach (var member in new[] { bob, carol })
        {
            var texts = (await PollAsync(member)).Events.Where(e => e.Kind == ReceivedKind.Text).ToList();
            Assert.Equal(["one", "two"], texts.Select(e => e.Body));
            Assert.All(texts, e => Assert.Equal((group.IdHex, "Trip", alice.Profile.AccountId), (e.GroupId, e.GroupTitle, e.ContactId)));
        }

        // Bob and Carol are not each other's contacts: Carol starts a session from the group, sealed with
        // the delivery key Alice shared in it, and Bob keeps it because the group says Carol is a member.
        await carol.Groups.SendAsync("Trip", "hello from carol", Ct);
        Assert.Contains((await PollAsync(bob)).Events, e => e.Body == "hello from carol" && e.GroupId == group.IdHex);
        await bob.Groups.SendAsync("Trip", "hi carol", Ct);
        Assert.Contains((await PollAsync(carol)).Events, e => e.Body == "hi carol");

        Assert.DoesNotContain(await carol.Contacts.AllAsync(), c => c.AccountId == bob.Profile.AccountId);
        var (_, history) = await bob.Groups.HistoryAsync("Trip", 100);
        Assert.Equal(["one", "two", "hello from carol", "hi carol"], history.Where(m => m.Kind == MessageKind.Text).Select(m => m.Body));
        Assert.Equal(carol.Profile.AccountId, history.Single(m => m.Body == "hello from carol").Author);
    }

    [Fact]
    public async Task MaintenanceMonthsLater_KeepsTheSessionsWithMembersWhoAreNotContacts_AndTheGroupsHistory()
    {
        var (alice, bob, carol) = await ThreeAsync();
        await alice.Groups.CreateAsync("Trip", ["bob", carol.Profile.AccountId], open: false, Ct);
        await PollAsync(bob);
        await PollAsync(carol);
        await carol.Groups.SendAsync("Trip", "hello from carol", Ct);
        await PollAsync(bob);
        await bob.Groups.SendAsync("Trip", "hi carol", Ct);
        await PollAsync(carol);
        await carol.Inbox.AcknowledgeAsync(Ct);

        // Carol's next start, 31 days on, prunes what strangers left; Bob is a member, not a stranger.
        var later = new MessagingEnvironment
        {
            ConnectApi = _profiles.Environment.ConnectApi,
            KdfParameters = _profiles.Environment.KdfParameters,
            Time = new Pigeon.Tests.Testing.ShiftedTime(TimeSpan.FromDays(31)),
        };
        using var carolLater = ProfileSession.Open(later, _profiles.DirectoryOf("carol"), () => null);
        await carolLater.MaintainAsync(Ct);
        await bob.Groups.SendAsync("Trip", "a month later", Ct);
        var events = (await PollAsync(carolLater)).Events;
        var (_, history) = await carolLater.Groups.HistoryAsync("Trip", 100);

        Assert.Contains(events, e => e.Body == "a month later");
        Assert.DoesNotContain(events, e => e.Kind == ReceivedKind.Failed);
        Assert.Equal(["hello from carol", "hi carol", "a month later"], history.Where(m => m.Kind == MessageKind.Text).Select(m => m.Body));
    }

    [Fact]
    public async Task AnAddedMember_SeesFromThenOn_AndARemovedOne_NothingMore_AndTheirMessagesAreRefused()
    {
        var (alice, bob, carol) = await ThreeAsync();
        await alice.Groups.CreateAsync("Trip", ["bob"], open: false, Ct);
        await PollAsync(bob);
        await alice.Groups.SendAsync("Trip", "before carol", Ct);
        await alice.Groups.AddAsync("Trip", ["carol"], Ct);
        await alice.Groups.SendAsync("Trip", "after carol", Ct);
        Assert.Equal(["after carol"], (await PollAsync(carol)).Events.Where(e => e.Kind == ReceivedKind.Text).Select(e => e.Body));
        await PollAsync(bob);

        await alice.Groups.RemoveAsync("Trip", ["bob"], Ct);
        await alice.Groups.SendAsync("Trip", "after bob", Ct);
        var bobs = (await PollAsync(bob)).Events;
        Assert.DoesNotContain(bobs, e => e.Kind == ReceivedKind.Text);
        Assert.Contains(bobs, e => e.Kind == ReceivedKind.GroupUpdate && e.Body == "alice removed you");
        await Assert.ThrowsAsync<GroupChangeException>(() => bob.Groups.SendAsync("Trip", "am I still here?", Ct));
        Assert.Equal(["after bob"], (await PollAsync(carol)).Events.Where(e => e.Kind == ReceivedKind.Text).Select(e => e.Body));

        // Bob's client, had it not heard of its removal, would still send: every member refuses it, and says so.
        var groupId = (await alice.Groups.ResolveAsync("Trip")).Id;
        await bob.Outbox.SendToManyAsync([alice.Profile.AccountId],
            (_, now) => new InnerMessage(InnerMessageType.GroupText, "bob", "sneaked in", now, GroupId: groupId), null, Ct);
        var refused = (await PollAsync(alice)).Events;
        Assert.Contains(refused, e => e.Kind == ReceivedKind.Failed && e.Error!.Contains("not a member", StringComparison.Ordinal));
        Assert.DoesNotContain((await alice.Groups.HistoryAsync("Trip", 100)).Messages, m => m.Body == "sneaked in");
    }

    [Fact]
    public async Task ANonAdminsChange_AndAForgedUpdateFromANonMember_AreRefusedByEveryMember()
    {
        var (alice, bob, carol) = await ThreeAsync();
        var dave = await _profiles.CreateAsync("dave");
        await ProfileStoreTests.ConnectAsync(dave, alice, null);
        var group = await alice.Groups.CreateAsync("Trip", ["bob", "carol"], open: false, Ct);
        await PollAsync(bob);
        await PollAsync(carol);
        await Assert.ThrowsAsync<GroupChangeException>(() => bob.Groups.RenameAsync("Trip", "Bob's trip", Ct));

        // Bob's client bypassed: a rename signed by Bob's session goes out anyway.
        var renamed = GroupState.FromFields(group.Id, "Bob's trip", group.Members, group.Open, 2, bob.Profile.AccountId, group.Hash, 256);
        await SendUpdateAsync(bob, renamed, alice, carol);
        // Dave is no member: his update claiming the group names himself as its author.
        var forged = GroupState.FromFields(group.Id, "Dave's trip", [.. group.Members, new GroupMember(dave.Profile.AccountId, GroupRole.Admin)], group.Open, 2,
            dave.Profile.AccountId, group.Hash, 256);
        await SendUpdateAsync(dave, forged, alice);

        var refusals = (await PollAsync(alice)).Events.Where(e => e.Kind == ReceivedKind.Failed).Select(e => e.Error).ToList();
        Assert.Equal(2, refusals.Count);
        Assert.Contains(refusals, e => e!.Contains("only its admins", StringComparison.Ordinal));
        Assert.Contains(refusals, e => e!.Contains("is not a member", StringComparison.Ordinal));
        Assert.Contains((await PollAsync(carol)).Events, e => e.Kind == ReceivedKind.Failed && e.Error!.Contains("only its admins", StringComparison.Ordinal));
        foreach (var member in new[] { alice, bob, carol })
        {
            Assert.Equal(("Trip", 1ul), ((await member.Groups.ResolveAsync(group.IdHex[..6])).Title, (await member.Groups.ResolveAsync("Trip")).Version));
        }
    }

    [Fact]
    public async Task TwoAdminsChangingAtOnce_EndOnTheSameVersion_OnEveryMember()
    {
        var (alice, bob, carol) = await ThreeAsync();
        var dave = await _profiles.CreateAsync("dave");
        await ProfileStoreTests.ConnectAsync(alice, dave, null);
        await alice.Groups.CreateAsync("Trip", ["bob", "carol"], open: false, Ct);
        await PollAsync(bob);
        await alice.Groups.PromoteAsync("Trip", ["bob"], Ct);
        await PollAsync(bob);
        await PollAsync(carol);

        // Both change version 2 before hearing of the other.
        await alice.Groups.RenameAsync("Trip", "Alice's name", Ct);
        await bob.Groups.AddAsync("Trip", [dave.Profile.AccountId], Ct);
        await PollAsync(bob);
        await PollAsync(alice);
        await PollAsync(carol);

        var current = (await alice.Groups.AllAsync()).Single();
        foreach (var member in new[] { bob, carol })
        {
            var theirs = (await member.Groups.AllAsync()).Single();
            Assert.Equal(current.Hash, theirs.Hash);
        }

        Assert.Equal(3ul, current.Version);
    }

    [Fact]
    public async Task AGroupOfTheLargestSize_Works_AndOneMemberMoreIsRefused()
    {
        var max = _profiles.Environment.MaxGroupMembers;
        var alice = await _profiles.CreateAsync("alice");
        var members = new List<ProfileSession>();
        for (var i = 1; i < max; i++)
        {
            members.Add(await _profiles.CreateAsync($"member{i}"));
        }

        var group = await alice.Groups.CreateAsync("Everyone", [.. members.Select(m => m.Profile.AccountId)], open: false, Ct);
        await alice.Groups.SendAsync("Everyone", "to all of you", Ct);

        Assert.Equal(256, max);
        Assert.Equal(max, group.Members.Count);
        foreach (var member in members)
        {
            Assert.Contains((await PollAsync(member)).Events, e => e.Kind == ReceivedKind.Text && e.Body == "to all of you" && e.GroupId == group.IdHex);
        }

        var oneMore = await _profiles.CreateAsync("one-more");
        var refused = await Assert.ThrowsAsync<GroupTooLargeException>(() => alice.Groups.AddAsync("Everyone", [oneMore.Profile.AccountId], Ct));
        Assert.Equal((max + 1, max), (refused.Members, refused.MaxMembers));
    }

    [Fact]
    public async Task AGroupPastTheLimit_IsRefusedClearly_AndAnAmbiguousTitleListsTheCandidates()
    {
        var api = new InMemoryApi();
        var usual = api.Environment();
        using var small = new CoreProfiles(new MessagingEnvironment { ConnectApi = usual.ConnectApi, KdfParameters = usual.KdfParameters, MaxGroupMembers = 2 });
        var alice = await small.CreateAsync("alice");
        var bob = await small.CreateAsync("bob");
        var carol = await small.CreateAsync("carol");
        var tooLarge = await Assert.ThrowsAsync<GroupTooLargeException>(() =>
            alice.Groups.CreateAsync("Big", [bob.Profile.AccountId, carol.Profile.AccountId], open: false, Ct));
        Assert.Equal((3, 2), (tooLarge.Members, tooLarge.MaxMembers));
        Assert.Empty(await alice.Groups.AllAsync());

        var first = await alice.Groups.CreateAsync("Same", [bob.Profile.AccountId], open: false, Ct);
        var second = await alice.Groups.CreateAsync("same", [bob.Profile.AccountId], open: false, Ct);
        var ambiguous = await Assert.ThrowsAsync<AmbiguousNameException>(() => alice.Groups.SendAsync("Same", "which?", Ct));
        Assert.Equal(NameList.Groups, ambiguous.List);
        Assert.Contains(ambiguous.AccountIds, c => c == $"group {first.IdHex[..12]} (Same)");
        Assert.Contains(ambiguous.AccountIds, c => c == $"group {second.IdHex[..12]} (same)");
        await Assert.ThrowsAsync<GroupNotFoundException>(() => alice.Groups.SendAsync("Nothing", "x", Ct));
    }

    // Alice is a contact of Bob and of Carol; Bob and Carol are not each other's.
    private async Task<(ProfileSession Alice, ProfileSession Bob, ProfileSession Carol)> ThreeAsync()
    {
        var alice = await _profiles.CreateAsync("alice");
        var bob = await _profiles.CreateAsync("bob");
        var carol = await _profiles.CreateAsync("carol");
        await ProfileStoreTests.ConnectAsync(alice, bob, null);
        await ProfileStoreTests.ConnectAsync(alice, carol, null);
        return (alice, bob, carol);
    }

    private static Task<PollResult> PollAsync(ProfileSession member) => member.Inbox.PollAsync(0, TimeSpan.Zero, Ct);

    private static async Task SendUpdateAsync(ProfileSession from, GroupState state, params ProfileSession[] to)
    {
        string[] recipients = [.. to.Select(t => t.Profile.AccountId)];
        await from.Devices.EnsureSessionsAsync(recipients, Ct);
        await from.Outbox.SendToManyAsync(recipients,
            (_, now) => new InnerMessage(InnerMessageType.GroupUpdate, from.Profile.DisplayName, null, now, Group: GroupWire.From(state)), null, Ct);
    }

    private List<string> Deposits() => [.. _api.Requests.Where(r => r.StartsWith("POST /v1/messages", StringComparison.Ordinal) && !r.Contains("/ack", StringComparison.Ordinal))];
}
