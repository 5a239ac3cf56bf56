using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using Pigeon.Messaging;
using Pigeon.Messaging.Profiles;
using Pigeon.Messaging.Store;

namespace Pigeon.Tests.Client.Store;

/// <summary>
/// The profile store at rest, read as someone holding a copy of <c>pigeon.db</c> would: after a real
/// conversation nothing in it names a person, a conversation or a time; every sealed value is bound
/// to its row, so swapped, moved, rolled-back or flipped values are refused; what is deleted or
/// replaced leaves no trace in the file or its journal; and a new passphrase seals everything again
/// in one transaction.
/// </summary>
public sealed class ProfileStoreTests : IDisposable
{
    private const string Passphrase = "correct horse battery staple";
    private static readonly DateTimeOffset Start = new(2026, 11, 25, 4, 38, 36, 123, TimeSpan.Zero);
    private readonly InMemoryApi _api = new();
    private readonly FakeTimeProvider _time = new(Start);
    private readonly CoreProfiles _profiles;

    public ProfileStoreTests() => _profiles = new CoreProfiles(_api, _time);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _profiles.Dispose();

    [Fact]
    public async Task PassphraseProfile_AfterARealConversation_HoldsNoNameIdBodyOrTimeInItsBytes()
    {
        var alice = await _profiles.CreateAsync("alice", Passphrase, "Alicemarker");
        var bob = await _profiles.CreateAsync("bob", Passphrase, "Bobmarker");
        await ConnectAsync(alice, bob, "invitation-marker");
        await alice.Outbox.SendAsync(await alice.Contacts.ResolveAsync("Bobmarker"), "body-marker-from-alice", Ct);
        await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct);
        await bob.Outbox.SendAsync(await bob.Contacts.ResolveAsync("Alicemarker"), "body-marker-from-bob", Ct);
        await alice.Inbox.PollAsync(0, TimeSpan.Zero, Ct);
        await alice.Contacts.MarkVerifiedAsync(await alice.Contacts.ResolveAsync("Bobmarker"), Ct);
        await alice.Contacts.SetTimerAsync("Bobmarker", TimeSpan.FromDays(1), Ct);
        await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct);
        // Receipts and settings are sealed too: Bob reads Alice's message, Alice gets the receipt.
        Assert.Single(await bob.Contacts.MarkReadAsync(await bob.Contacts.ResolveAsync("Alicemarker"), Ct));
        await alice.Inbox.PollAsync(0, TimeSpan.Zero, Ct);
        await bob.SaveSettingsAsync(new ProfileSettings(ReadReceipts: true, TypingIndicators: false));
        // A group: its title, id, members and texts are sealed like the rest.
        var group = await alice.Groups.CreateAsync("grouptitle-marker", ["Bobmarker"], open: false, Ct);
        await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct);
        await bob.Groups.SendAsync("grouptitle-marker", "group-body-marker", Ct);
        await alice.Inbox.PollAsync(0, TimeSpan.Zero, Ct);
        string[] ids = [alice.Profile.AccountId, bob.Profile.AccountId];
        var identities = new[] { alice.Profile.PublicIdentity.ToBytes(), bob.Profile.PublicIdentity.ToBytes() };
        alice.Dispose();
        bob.Dispose();

        var ms = Start.ToUnixTimeMilliseconds();
        var binaryMs = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(binaryMs, ms);
        string[] markers =
        [
            .. ids, "Alicemarker", "Bobmarker", "invitation-marker", "body-marker-from-alice", "body-marker-from-bob", "pigeon.test",
            "read_receipts", "typing_indicators", "grouptitle-marker", "group-body-marker", group.IdHex, group.IdHex.ToUpperInvariant(),
            ms.ToString(CultureInfo.InvariantCulture), (ms / 1000).ToString(CultureInfo.InvariantCulture), "2026-11-25", "04:38",
        ];
        foreach (var name in new[] { "alice", "bob" })
        {
            var bytes = FileBytes(_profiles.DatabasePath(name));
            foreach (var marker in markers)
            {
                Assert.False(Contains(bytes, Encoding.UTF8.GetBytes(marker)), $"{name}'s file holds '{marker}'.");
            }

            Assert.All(identities, identity => Assert.False(Contains(bytes, identity[..32]), $"{name}'s file holds an identity key."));
            Assert.False(Contains(bytes, binaryMs), $"{name}'s file holds the time in binary.");
            Assert.False(Contains(bytes, group.Id), $"{name}'s file holds the group id.");
        }

        // The check works: the opened profile does hold all of it.
        using var reopened = _profiles.Open("bob", Passphrase);
        var (_, history) = await reopened.Contacts.HistoryAsync("Alicemarker", 100);
        Assert.Contains(history, m => m.Body == "body-marker-from-alice" && m.At == Start);
        Assert.Equal(TimeSpan.FromDays(1), (await reopened.Contacts.ResolveAsync(ids[0])).Timer);
        Assert.Contains(history, m => m.Body == "body-marker-from-alice" && m.ReadAt == Start && m.State == "read");
        Assert.False((await reopened.GetSettingsAsync()).TypingIndicators);
        var (reopenedGroup, groupHistory) = await reopened.Groups.HistoryAsync("grouptitle-marker", 100);
        Assert.Equal(group.Members.Select(m => m.AccountId), reopenedGroup.Members.Select(m => m.AccountId));
        Assert.Contains(groupHistory, m => m.Body == "group-body-marker" && m.Author == ids[1]);
        using var aliceAgain = _profiles.Open("alice", Passphrase);
        var (_, aliceHistory) = await aliceAgain.Contacts.HistoryAsync("Bobmarker", 100);
        Assert.Contains(aliceHistory, m => m.Body == "body-marker-from-alice" && m.State == "read");
    }

    [Fact]
    public async Task SwappedOrMovedValues_AreReportedAsDamage_NeverShown()
    {
        var alice = await _profiles.CreateAsync("alice", Passphrase);
        var bob = await _profiles.CreateAsync("bob", Passphrase);
        var carol = await _profiles.CreateAsync("carol", Passphrase);
        await ConnectAsync(alice, bob, null);
        await ConnectAsync(alice, carol, null);
        await alice.Outbox.SendAsync(await alice.Contacts.ResolveAsync("bob"), "to bob", Ct);
        await alice.Outbox.SendAsync(await alice.Contacts.ResolveAsync("carol"), "to carol", Ct);
        alice.Dispose();

        var path = _profiles.DatabasePath("alice");
        var original = await File.ReadAllBytesAsync(path, Ct);
        Tamper(path, "UPDATE contacts SET sealed = (SELECT sealed FROM contacts c2 WHERE c2.ref <> contacts.ref)");
        await AssertDamagedAsync(session => session.Contacts.AllAsync(), "contacts");

        await File.WriteAllBytesAsync(path, original, Ct);
        // Carol's last message body moved into Bob's conversation, in the place of his.
        Tamper(path, """
            UPDATE messages SET sealed = (SELECT sealed FROM messages m2 WHERE m2.conversation <> messages.conversation ORDER BY m2.seq DESC LIMIT 1)
            WHERE id = (SELECT id FROM messages ORDER BY seq DESC LIMIT 1)
            """);
        await AssertDamagedAsync(async session =>
        {
            await session.Contacts.HistoryAsync("bob", 100);
            await session.Contacts.HistoryAsync("carol", 100);
        }, "messages");

        await File.WriteAllBytesAsync(path, original, Ct);
        // Two items of one conversation trade places: the order number is bound too.
        Tamper(path, """
            UPDATE messages SET seq = -seq WHERE conversation = (SELECT conversation FROM messages LIMIT 1) AND seq IN (1, 2);
            UPDATE messages SET seq = CASE seq WHEN -1 THEN 2 ELSE 1 END WHERE seq < 0;
            """);
        await AssertDamagedAsync(async session =>
        {
            await session.Contacts.HistoryAsync("bob", 100);
            await session.Contacts.HistoryAsync("carol", 100);
        }, "messages");
    }

    [Fact]
    public async Task AFlippedFlag_OrARolledBackValue_IsReportedAsDamage()
    {
        var alice = await _profiles.CreateAsync("alice", Passphrase);
        var bob = await _profiles.CreateAsync("bob", Passphrase);
        await ConnectAsync(alice, bob, null);
        var unverified = ReadColumn(_profiles.DatabasePath("alice"), "SELECT sealed FROM contacts");
        await alice.Contacts.MarkVerifiedAsync(await alice.Contacts.ResolveAsync("bob"), Ct);
        alice.Dispose();
        var path = _profiles.DatabasePath("alice");
        var verified = await File.ReadAllBytesAsync(path, Ct);

        // Back to the value from before the verification, under the row's current version.
        Tamper(path, "UPDATE contacts SET sealed = $old", ("$old", unverified));
        await AssertDamagedAsync(session => session.Contacts.AllAsync(), "contacts");

        await File.WriteAllBytesAsync(path, verified, Ct);
        // One bit of the sealed contact (where the flag and the identity key are) changed.
        var flipped = ReadColumn(path, "SELECT sealed FROM contacts");
        flipped[flipped.Length / 2] ^= 1;
        Tamper(path, "UPDATE contacts SET sealed = $flipped", ("$flipped", flipped));
        await AssertDamagedAsync(session => session.Contacts.AllAsync(), "contacts");

        await File.WriteAllBytesAsync(path, verified, Ct);
        using var intact = _profiles.Open("alice", Passphrase);
        Assert.True((await intact.Contacts.ResolveAsync("bob")).Verified);
    }

    [Fact]
    public async Task AUsedPrekey_ASupersededSession_AndADeclinedRequest_LeaveNoTraceInTheFileOrItsJournal()
    {
        var alice = await _profiles.CreateAsync("alice", Passphrase);
        var bob = await _profiles.CreateAsync("bob", Passphrase);
        var carol = await _profiles.CreateAsync("carol", Passphrase);
        var bobPath = _profiles.DatabasePath("bob");
        // The profile table's largest row is the prekey store (the others: its facts and identity).
        var prekeysBefore = ReadColumns(bobPath, "SELECT sealed FROM profile").MaxBy(value => value.Length)!;
        await ConnectAsync(alice, bob, null);
        var sessionBefore = ReadColumn(bobPath, "SELECT sealed FROM sessions");
        await alice.Outbox.SendAsync(await alice.Contacts.ResolveAsync("bob"), "one", Ct);
        await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct);
        await carol.Contacts.InviteAsync(bob.Profile.AccountId, "declined-request", Ct);
        await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct);
        var request = ReadColumn(bobPath, "SELECT sealed FROM requests");
        var requestHistory = ReadColumns(bobPath, "SELECT sealed FROM messages");
        await bob.Contacts.DeclineAsync(carol.Profile.AccountId, Ct);
        await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct);

        Assert.Equal((1L, "truncate"), await bob.WithStoreAsync(store => ((long)store.Scalar("PRAGMA secure_delete")!, (string)store.Scalar("PRAGMA journal_mode")!)));

        // Prekeys rewritten once a one-time prekey was used, the session after every message; some
        // rows of the history are the request's, which the decline deleted.
        var bytes = FileBytes(bobPath);
        var gone = new List<byte[]> { prekeysBefore, sessionBefore, request };
        var remaining = ReadColumns(bobPath, "SELECT sealed FROM messages");
        gone.AddRange(requestHistory.Where(m => !remaining.Any(r => r.AsSpan().SequenceEqual(m))));
        Assert.True(gone.Count >= 4, "the test deletes and replaces too little");
        Assert.All(gone, value => Assert.False(Contains(bytes, value.AsSpan(value.Length / 2 - 16, 32).ToArray()), "a deleted or replaced value is still in the file"));
        Assert.Equal(0, JournalLength(bobPath));

        // The check works: what is still stored is found.
        var current = ReadColumn(bobPath, "SELECT sealed FROM sessions");
        Assert.True(Contains(bytes, current.AsSpan(current.Length / 2 - 16, 32).ToArray()));
    }

    [Fact]
    public async Task ANewPassphrase_SealsEverythingAgain_AndOnlyItOpensTheProfile()
    {
        var alice = await _profiles.CreateAsync("alice", "old passphrase");
        var bob = await _profiles.CreateAsync("bob", Passphrase);
        await ConnectAsync(alice, bob, null);
        await bob.Outbox.SendAsync(await bob.Contacts.ResolveAsync("alice"), "kept across the change", Ct);
        await alice.Inbox.PollAsync(0, TimeSpan.Zero, Ct);
        var path = _profiles.DatabasePath("alice");
        var sealedBefore = ReadColumns(path, "SELECT sealed FROM messages");

        await alice.ChangePassphraseAsync("new passphrase");
        alice.Dispose();

        var refused = Assert.Throws<ProfileLockedException>(() => _profiles.Open("alice", "old passphrase"));
        Assert.Equal(LockedReason.WrongPassphrase, refused.Reason);
        using (var reopened = _profiles.Open("alice", "new passphrase"))
        {
            var (_, history) = await reopened.Contacts.HistoryAsync("bob", 100);
            Assert.Contains(history, m => m.Body == "kept across the change");
            await reopened.ChangePassphraseAsync(null);
        }

        var bytes = FileBytes(path);
        Assert.All(sealedBefore, value => Assert.False(Contains(bytes, value.AsSpan(value.Length / 2 - 16, 32).ToArray())));
        using var plain = _profiles.Open("alice");
        Assert.False(plain.Profile.IsEncrypted);
        Assert.Equal("bob", (await plain.Contacts.ResolveAsync("bob")).DisplayName);
    }

    [Fact]
    public async Task APassphraseChange_ThatFailsPartWay_LeavesTheOldPassphraseWorking()
    {
        var alice = await _profiles.CreateAsync("alice", "old passphrase");
        var bob = await _profiles.CreateAsync("bob", Passphrase);
        await ConnectAsync(alice, bob, null);
        var path = _profiles.DatabasePath("alice");
        // The header is written last: a failure there comes after every row was sealed again.
        Tamper(path, "CREATE TRIGGER crash BEFORE UPDATE ON header BEGIN SELECT RAISE(ABORT, 'crash'); END;");

        await Assert.ThrowsAsync<SqliteException>(() => alice.ChangePassphraseAsync("new passphrase"));

        Assert.Equal("bob", (await alice.Contacts.ResolveAsync("bob")).DisplayName);
        alice.Dispose();
        Assert.Throws<ProfileLockedException>(() => _profiles.Open("alice", "new passphrase"));
        using var reopened = _profiles.Open("alice", "old passphrase");
        Assert.Equal("bob", (await reopened.Contacts.ResolveAsync("bob")).DisplayName);
    }

    [Fact]
    public async Task Argon2id_RunsOncePerProcess_ForAProfile_UntilASessionIsLocked()
    {
        (await _profiles.CreateAsync("alice", Passphrase)).Dispose();
        var salt = ReadColumn(_profiles.DatabasePath("alice"), "SELECT kdf_salt FROM header");

        for (var i = 0; i < 3; i++)
        {
            _profiles.Open("alice", Passphrase).Dispose();
        }

        Assert.Equal(1, StoreKeyProtection.Derivations(salt));
        _profiles.Open("alice", Passphrase).Lock();
        _profiles.Open("alice", Passphrase).Dispose();
        Assert.Equal(2, StoreKeyProtection.Derivations(salt));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task AProfileOfAnOldFormat_IsRefused_AndLeftAsItIs(int version)
    {
        (await _profiles.CreateAsync("alice")).Dispose();
        var path = _profiles.DatabasePath("alice");
        Tamper(path, $"PRAGMA user_version = {version}");
        var before = await File.ReadAllBytesAsync(path, Ct);

        var refused = Assert.Throws<ProfileFormatException>(() => _profiles.Open("alice"));

        Assert.Equal(version, refused.Version);
        Assert.Contains("older pigeon", refused.Message, StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllBytesAsync(path, Ct));
    }

    internal static async Task ConnectAsync(ProfileSession inviter, ProfileSession invitee, string? note)
    {
        await inviter.Contacts.InviteAsync(invitee.Profile.AccountId, note, Ct);
        await invitee.Inbox.PollAsync(0, TimeSpan.Zero, Ct);
        await invitee.Contacts.AcceptAsync(inviter.Profile.AccountId, Ct);
        await inviter.Inbox.PollAsync(0, TimeSpan.Zero, Ct);
    }

    /// <summary>The database file, its rollback journal and its WAL, as one array.</summary>
    internal static byte[] FileBytes(string path) =>
        [.. new[] { path, path + "-journal", path + "-wal" }.Where(File.Exists).SelectMany(File.ReadAllBytes)];

    internal static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;

    internal static byte[] ReadColumn(string path, string sql) => ReadColumns(path, sql).Single();

    internal static List<byte[]> ReadColumns(string path, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var values = new List<byte[]>();
        while (reader.Read())
        {
            values.Add((byte[])reader[0]);
        }

        return values;
    }

    internal static void Tamper(string path, string sql, params (string Name, object Value)[] parameters)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        command.ExecuteNonQuery();
    }

    private static long JournalLength(string path) => File.Exists(path + "-journal") ? new FileInfo(path + "-journal").Length : 0;

    private async Task AssertDamagedAsync(Func<ProfileSession, Task> read, string table)
    {
        using var session = _profiles.Open("alice", Passphrase);
        var damaged = await Assert.ThrowsAsync<ProfileDamagedException>(() => read(session));
        Assert.Contains(table, damaged.Message, StringComparison.Ordinal);
    }
}
