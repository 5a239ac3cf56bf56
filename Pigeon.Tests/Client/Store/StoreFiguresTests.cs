using System.Diagnostics;
using Pigeon.Messaging.Delivery;
using Pigeon.Messaging.Profiles;
using Pigeon.Messaging.Store;

namespace Pigeon.Tests.Client.Store;

/// <summary>
/// The figures of the store with a passphrase, over the API in memory: a sync of 1,000 messages and
/// a history of 10,000 stay within bounds; the times and the file size are written to the test output.
/// </summary>
public sealed class StoreFiguresTests : IDisposable
{
    private const string Passphrase = "figures passphrase";
    private readonly InMemoryApi _api = new();
    private readonly CoreProfiles _profiles;

    public StoreFiguresTests() => _profiles = new CoreProfiles(_api);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _profiles.Dispose();

    [Fact]
    public async Task SyncOf1000Messages_AndHistoryOf10000_StayWithinBounds()
    {
        using var alice = await CreateAsync("alice");
        using var bob = await CreateAsync("bob");
        await alice.Contacts.InviteAsync(bob.Profile.AccountId, null, Ct);
        await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct);
        await bob.Contacts.AcceptAsync("alice", Ct);
        await alice.Inbox.PollAsync(0, TimeSpan.Zero, Ct);
        for (var i = 0; i < 1000; i++)
        {
            await alice.Outbox.QueueAsync(bob.Profile.AccountId, InnerMessageType.Text, $"message {i}", MessageKind.Text, null);
        }

        await alice.Outbox.DeliverAsync(Ct);

        var sync = Stopwatch.StartNew();
        var received = 0;
        long after = 0;
        while (true)
        {
            var poll = await bob.Inbox.PollAsync(after, TimeSpan.Zero, Ct);
            received += poll.Events.Count;
            after = poll.LastSequence;
            if (poll.Events.Count == 0 && !poll.HasMore)
            {
                break;
            }
        }

        await bob.Inbox.AcknowledgeAsync(Ct);
        sync.Stop();
        Assert.Equal(1000, received);

        await bob.WithStoreAsync(database => database.InTransaction(() =>
        {
            var now = DateTimeOffset.UtcNow;
            for (var i = 0; i < 9000; i++)
            {
                database.Messages.Add(alice.Profile.AccountId, MessageDirection.In, MessageKind.Text, MessageStatus.Received, Guid.NewGuid(), $"older {i}", now, now);
            }
        }));

        var history = Stopwatch.StartNew();
        var (_, messages) = await bob.Contacts.HistoryAsync("alice", 10_000);
        history.Stop();
        var latest = Stopwatch.StartNew();
        var (_, last50) = await bob.Contacts.HistoryAsync("alice", 50);
        latest.Stop();

        Assert.Equal(10_000, messages.Count);
        Assert.Equal(50, last50.Count);
        var size = new FileInfo(Path.Combine(_profiles.DirectoryOf("bob"), ProfileDatabase.FileName)).Length;
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"sync of 1000: {sync.ElapsedMilliseconds} ms; history of 10000: {history.ElapsedMilliseconds} ms; history of the last 50: {latest.ElapsedMilliseconds} ms; file: {size} bytes");
        Console.WriteLine($"FIGURES sync1000={sync.ElapsedMilliseconds}ms history10000={history.ElapsedMilliseconds}ms history50={latest.ElapsedMilliseconds}ms file={size}B");
        Assert.InRange(sync.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(60));
        Assert.InRange(history.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(5));
    }

    private async Task<ProfileSession> CreateAsync(string name)
    {
        await ProfileSession.CreateAsync(_profiles.Environment, _profiles.DirectoryOf(name), InMemoryApi.Server, name, Passphrase, Ct);
        return ProfileSession.Open(_profiles.Environment, _profiles.DirectoryOf(name), () => Passphrase);
    }
}
