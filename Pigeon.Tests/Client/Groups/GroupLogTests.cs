using Pigeon.Messaging;
using Pigeon.Messaging.Groups;

namespace Pigeon.Tests.Client.Groups;

/// <summary>
/// The group state model (ADR 0004) without I/O: who may change a group, that every member checks
/// each version against its base, and that concurrent changes converge on every member whatever
/// order they arrive in.
/// </summary>
public sealed class GroupLogTests
{
    private const int Max = 256;
    private static readonly string Alice = Id('a'), Bob = Id('b'), Carol = Id('c'), Dave = Id('d'), Erin = Id('e');

    [Fact]
    public void Create_MakesTheCreatorAdmin_SortsTheMembers_AndTheHashCoversEveryField()
    {
        var group = GroupState.Create(Carol, "Climbing", [Bob, Alice, Bob], open: false, Max);

        Assert.Equal([Alice, Bob, Carol], group.Members.Select(m => m.AccountId));
        Assert.Equal(GroupRole.Admin, group.Members.Single(m => m.AccountId == Carol).Role);
        Assert.Equal((1ul, Carol), (group.Version, group.Author));
        var same = GroupState.FromFields(group.Id, group.Title, group.Members, group.Open, group.Version, group.Author, group.Base, Max);
        Assert.Equal(group.Hash, same.Hash);
        var renamed = GroupState.FromFields(group.Id, "Climbing!", group.Members, group.Open, group.Version, group.Author, group.Base, Max);
        Assert.NotEqual(group.Hash, renamed.Hash);
        Assert.NotEqual(group.Id, GroupState.Create(Carol, "Climbing", [Bob, Alice], open: false, Max).Id);
    }

    [Fact]
    public void OnlyAdmins_ChangeAClosedGroup_ButAnyMemberMayLeave_AndOnlyAdminsPromote()
    {
        var group = GroupState.Create(Alice, "Team", [Bob, Carol], open: false, Max);

        Assert.Throws<GroupChangeException>(() => group.Rename(Bob, "Bob's team", Max));
        Assert.Throws<GroupChangeException>(() => group.Add(Bob, [Dave], Max));
        Assert.Throws<GroupChangeException>(() => group.Remove(Bob, [Carol], Max));
        Assert.Throws<GroupChangeException>(() => group.Add(Dave, [Erin], Max));
        var left = group.Leave(Bob, Max);
        Assert.False(left.HasMember(Bob));
        var promoted = group.Change(Alice, group.Title, group.Members.Select(m => m.AccountId == Bob ? m with { Role = GroupRole.Admin } : m), Max);
        Assert.True(promoted.MayChange(Bob));
        Assert.True(promoted.Add(Bob, [Dave], Max).HasMember(Dave));

        var open = GroupState.Create(Alice, "Open", [Bob], open: true, Max);
        Assert.Equal("Renamed by Bob", open.Rename(Bob, "Renamed by Bob", Max).Title);
        Assert.Throws<GroupChangeException>(() => open.Change(Bob, open.Title, open.Members.Select(m => m with { Role = GroupRole.Admin }), Max));
    }

    [Fact]
    public void AVersion_FromARemovedMember_OrOnAnotherBase_OrForAnotherGroup_IsRefusedOrHeld()
    {
        var group = GroupState.Create(Alice, "Team", [Bob, Carol], open: true, Max);
        var log = new GroupLog(group);
        var withoutCarol = group.Remove(Alice, [Carol], Max);
        Assert.Equal(GroupUpdateOutcome.BecameCurrent, log.Accept(withoutCarol));

        // Carol, removed, makes a change on the version that removed her: she is no member there.
        var forged = GroupState.FromFields(group.Id, "Carol's now", withoutCarol.Members, true, withoutCarol.Version + 1, Carol, withoutCarol.Hash, Max);
        Assert.Throws<GroupChangeException>(() => log.Accept(forged));
        // A version that claims a base nobody saw waits, and changes nothing.
        var orphan = GroupState.FromFields(group.Id, "Later", withoutCarol.Members, true, 9, Alice, new byte[GroupState.IdSize], Max);
        Assert.Equal(GroupUpdateOutcome.Held, log.Accept(orphan));
        Assert.Same(withoutCarol, log.Current);
        var other = GroupState.Create(Alice, "Other", [Bob], open: true, Max);
        Assert.Throws<GroupChangeException>(() => log.Accept(other));
        Assert.Equal(GroupUpdateOutcome.Known, log.Accept(withoutCarol));
    }

    [Fact]
    public void MoreMembersThanTheLimit_IsRefusedClearly()
    {
        var group = GroupState.Create(Alice, "Small", [Bob], open: false, maxMembers: 3);

        var refused = Assert.Throws<GroupTooLargeException>(() => group.Add(Alice, [Carol, Dave], maxMembers: 3));

        Assert.Equal((4, 3), (refused.Members, refused.MaxMembers));
        Assert.Throws<GroupTooLargeException>(() => GroupState.Create(Alice, "Big", [Bob, Carol, Dave], open: false, maxMembers: 3));
    }

    [Fact]
    public void TwoAdminsChangingAtOnce_ConvergeOnTheSameVersion_InEitherOrder_AndTheLoserCanReapplyOnTop()
    {
        var group = GroupState.Create(Alice, "Team", [Bob, Carol], open: false, Max);
        var bobAdmin = group.Change(Alice, group.Title, group.Members.Select(m => m.AccountId == Bob ? m with { Role = GroupRole.Admin } : m), Max);
        var byAlice = bobAdmin.Add(Alice, [Dave], Max);
        var byBob = bobAdmin.Rename(Bob, "Bob's title", Max);

        var first = new GroupLog(group);
        var second = new GroupLog(group);
        foreach (var state in new[] { bobAdmin, byAlice, byBob })
        {
            first.Accept(state);
        }

        foreach (var state in new[] { byBob, byAlice, bobAdmin })
        {
            second.Accept(state);
        }

        Assert.Equal(first.Current.Hash, second.Current.Hash);
        var loser = ReferenceEquals(first.Current, byAlice) ? byBob : byAlice;
        var reapplied = loser == byAlice ? first.Current.Add(Alice, [Dave], Max) : first.Current.Rename(Bob, "Bob's title", Max);
        Assert.Equal(GroupUpdateOutcome.BecameCurrent, first.Accept(reapplied));
        Assert.Equal(GroupUpdateOutcome.BecameCurrent, second.Accept(reapplied));
        Assert.True(reapplied.HasMember(Dave));
        Assert.Equal("Bob's title", reapplied.Title);
    }

    [Fact]
    public void RandomTreesOfConcurrentChanges_DeliveredInRandomOrders_ConvergeOnEveryMember()
    {
        var random = new Random(20261202);
        var people = new[] { Alice, Bob, Carol, Dave, Erin };
        for (var trial = 0; trial < 40; trial++)
        {
            var start = GroupState.Create(Alice, "Start", [Bob, Carol], open: trial % 2 == 0, Max);
            var made = new List<GroupState> { start };
            for (var change = 0; change < 12; change++)
            {
                var parent = made[random.Next(made.Count)];
                if (parent.Members.Count == 0)
                {
                    continue;
                }

                var author = parent.Members[random.Next(parent.Members.Count)].AccountId;
                try
                {
                    made.Add(random.Next(3) switch
                    {
                        0 => parent.Rename(author, $"t{trial}-{change}", Max),
                        1 => parent.Add(author, [people[random.Next(people.Length)]], Max),
                        _ => parent.Leave(author, Max),
                    });
                }
                catch (GroupChangeException)
                {
                    // Not allowed to that author: members try such things; nothing is made.
                }
            }

            var updates = made.Skip(1).ToList();
            var expected = Converge(start, updates);
            for (var order = 0; order < 5; order++)
            {
                Assert.Equal(expected, Converge(start, [.. updates.OrderBy(_ => random.Next())]));
            }

            var highest = made.Max(s => s.Version);
            Assert.Equal(highest, made.First(s => Convert.ToHexString(s.Hash) == expected).Version);
        }
    }

    private static string Converge(GroupState start, IEnumerable<GroupState> updates)
    {
        var log = new GroupLog(start);
        foreach (var update in updates)
        {
            log.Accept(update);
        }

        return Convert.ToHexString(log.Current.Hash);
    }

    private static string Id(char c) => new(c, 32);
}
