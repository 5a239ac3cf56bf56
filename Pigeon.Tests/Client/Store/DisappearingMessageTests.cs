using Microsoft.Extensions.Time.Testing;
using Pigeon.Messaging.Delivery;
using Pigeon.Messaging.Store;

namespace Pigeon.Tests.Client.Store;

/// <summary>
/// Disappearing messages on a fake clock: the timer travels inside the encrypted channel, both sides
/// keep each later text as long as it says, and a text whose time ran out while no client was
/// running is deleted, leaving no trace, when the profile is next opened.
/// </summary>
public sealed class DisappearingMessageTests : IDisposable
{
    private readonly InMemoryApi _api = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 8, 0, 0, TimeSpan.Zero));
    private readonly CoreProfiles _profiles;

    public DisappearingMessageTests() => _profiles = new CoreProfiles(_api, _time);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _profiles.Dispose();

    [Fact]
    public async Task ATimerSetByOneSide_DeletesTextsOnBothSides_WhenTheirTimeRunsOut_AcrossARestart()
    {
        var alice = await _profiles.CreateAsync("alice", "alice's passphrase");
        var bob = await _profiles.CreateAsync("bob", "bob's passphrase");
        await ProfileStoreTests.ConnectAsync(alice, bob, null);
        var before = await alice.Outbox.SendAsync(await alice.Contacts.ResolveAsync("bob"), "before the timer", Ct);

        await alice.Contacts.SetTimerAsync("bob", TimeSpan.FromHours(1), Ct);
        var noticed = await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct);
        var vanishing = await alice.Outbox.SendAsync(await alice.Contacts.ResolveAsync("bob"), "vanishing", Ct);
        await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct);

        // The server is asked to keep the envelope no longer than the text lives.
        Assert.Null(_api.Lifetimes[before]);
        Assert.Equal(3600, _api.Lifetimes[vanishing]);

        Assert.Contains(noticed.Events, e => e.Kind == ReceivedKind.Timer && e.Body == "1h");
        Assert.Equal(TimeSpan.FromHours(1), (await bob.Contacts.ResolveAsync("alice")).Timer);
        var sealedVanishing = ProfileStoreTests.ReadColumns(_profiles.DatabasePath("bob"), "SELECT sealed FROM messages ORDER BY seq DESC LIMIT 1").Single();
        _time.Advance(TimeSpan.FromMinutes(30));
        Assert.Contains((await bob.Contacts.HistoryAsync("alice", 100)).Messages, m => m.Body == "vanishing");

        // Nobody runs pigeon while the hour ends.
        alice.Dispose();
        bob.Dispose();
        _time.Advance(TimeSpan.FromMinutes(31));
        using var bobAgain = _profiles.Open("bob", "bob's passphrase");
        using var aliceAgain = _profiles.Open("alice", "alice's passphrase");

        foreach (var (session, peer) in new[] { (bobAgain, "alice"), (aliceAgain, "bob") })
        {
            var (_, history) = await session.Contacts.HistoryAsync(peer, 100);
            Assert.DoesNotContain(history, m => m.Body == "vanishing");
            Assert.Contains(history, m => m.Body == "before the timer");
            Assert.Contains(history, m => m.Kind == MessageKind.Timer && m.Body == "1h");
        }

        Assert.False(ProfileStoreTests.Contains(ProfileStoreTests.FileBytes(_profiles.DatabasePath("bob")), sealedVanishing[^32..]));
    }

    [Fact]
    public async Task ATimerTurnedOff_KeepsLaterTexts_AndTheHistoryShowsBothChanges()
    {
        var alice = await _profiles.CreateAsync("alice");
        var bob = await _profiles.CreateAsync("bob");
        await ProfileStoreTests.ConnectAsync(alice, bob, null);
        await bob.Contacts.SetTimerAsync("alice", TimeSpan.FromDays(1), Ct);
        await alice.Inbox.PollAsync(0, TimeSpan.Zero, Ct);
        await alice.Contacts.SetTimerAsync("bob", null, Ct);
        await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct);
        await alice.Outbox.SendAsync(await alice.Contacts.ResolveAsync("bob"), "stays", Ct);
        await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct);

        _time.Advance(TimeSpan.FromDays(8));
        await bob.MaintainAsync(Ct);

        var (contact, history) = await bob.Contacts.HistoryAsync("alice", 100);
        Assert.Null(contact.Timer);
        Assert.Contains(history, m => m.Body == "stays" && m.ExpiresAt is null);
        Assert.Equal(["1d", "off"], history.Where(m => m.Kind == MessageKind.Timer).Select(m => m.Body));
    }

    [Fact]
    public void AnInnerMessage_CarriesItsTimer_AndATimerOutOfRangeIsRefused()
    {
        var inner = new InnerMessage(InnerMessageType.Timer, "Alice", null, DateTimeOffset.UnixEpoch, Timer: TimeSpan.FromDays(7));

        Assert.Equal(TimeSpan.FromDays(7), InnerMessage.Parse(inner.ToBytes()).Timer);
        Assert.Null(InnerMessage.Parse((inner with { Timer = null }).ToBytes()).Timer);
        Assert.Throws<FormatException>(() => InnerMessage.Parse("""{"v":2,"t":"timer","n":"A","at":0,"e":604801}"""u8));
        Assert.Throws<FormatException>(() => InnerMessage.Parse("""{"v":2,"t":"text","n":"A","b":"x","at":0,"e":-5}"""u8));
    }
}
