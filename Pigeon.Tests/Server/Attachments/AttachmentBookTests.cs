using System.Security.Cryptography;
using System.Text;
using Pigeon.Api;
using Pigeon.Messaging;
using Pigeon.Messaging.Attachments;
using Pigeon.Messaging.Delivery;
using Pigeon.Messaging.Groups;
using Pigeon.Messaging.Profiles;
using Pigeon.Messaging.Store;
using Pigeon.Protocol;
using Pigeon.Protocol.Storage;
using Pigeon.Tests.Grains;

namespace Pigeon.Tests.Attachments;

/// <summary>
/// Files between profiles of the client core through the real gateway on real PostgreSQL: the pointer
/// inside the encrypted message, kept sealed; uploads that resume after a dropped connection and send
/// their message once; downloads checked before a byte reaches the destination; the sender's name used
/// only when it is safe; auto-download up to the size a profile sets.
/// </summary>
[Collection(PigeonClusterCollection.Name)]
public sealed class AttachmentBookTests(PigeonClusterFixture fixture) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("pigeon-book-").FullName;
    private readonly List<ProfileSession> _sessions = [];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        foreach (var session in _sessions)
        {
            session.Dispose();
        }

        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task AFile_ReachesAContact_IsListedAndSaved_AndNothingOfItIsInEitherProfileFileInTheClear()
    {
        var (alice, bob) = await ContactsAsync();
        var marker = $"okapi{Guid.NewGuid():N}";
        var file = WriteFile($"notes-{marker}.txt", 300_000, marker);

        var messageId = await alice.Attachments.SendAsync(new Conversation(await alice.Contacts.ResolveAsync("bob"), null), file, $"caption {marker}", null, Ct);
        var received = (await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct)).Events.Single(e => e.Kind == ReceivedKind.Text);
        var offered = (await bob.Attachments.ListAsync()).Single();
        var sent = (await alice.Attachments.ListAsync()).Single();
        var saved = await bob.Attachments.SaveAsync(offered.ShortId, _folder + "/out", overwrite: false, null, Ct);
        var again = await Assert.ThrowsAsync<AttachmentRefusedException>(() => bob.Attachments.SaveAsync(offered.ShortId, saved, overwrite: false, null, Ct));
        var replaced = await bob.Attachments.SaveAsync(offered.ShortId, saved, overwrite: true, null, Ct);

        Assert.Equal($"caption {marker}", received.Body);
        Assert.Equal((Path.GetFileName(file), 300_000L, "text/plain"), (received.Attachment!.Name, received.Attachment.Size, received.Attachment.ContentType));
        Assert.Equal(("offered", "alice", "alice", MessageDirection.In), (offered.State, offered.AuthorLabel, offered.ConversationLabel, offered.Row.Direction));
        Assert.Equal(("sent", messageId), (sent.State, sent.Row.MessageId));
        Assert.Equal(received.Attachment.AttachmentId, (await bob.Contacts.HistoryAsync("alice", 10)).Messages.Last().AttachmentId);
        Assert.Equal(await File.ReadAllBytesAsync(file, Ct), await File.ReadAllBytesAsync(saved, Ct));
        Assert.True(again.DestinationExists);
        Assert.Equal(saved, replaced);
        Assert.Equal("saved", (await bob.Attachments.ResolveAsync(offered.ShortId)).State);
        Assert.Empty(Directory.GetFiles(Path.Combine(Home, "bob", AttachmentBook.TransfersFolder)));
        foreach (var profile in new[] { "alice", "bob" })
        {
            var bytes = ProfileFiles(profile);
            Assert.False(Contains(bytes, Encoding.UTF8.GetBytes(marker)), $"{profile}'s profile holds the marker in the clear");
            Assert.False(Contains(bytes, received.Attachment.Key), $"{profile}'s profile holds the file key in the clear");
            Assert.False(Contains(bytes, received.Attachment.Capability), $"{profile}'s profile holds the capability in the clear");
        }
    }

    [Fact]
    public async Task AnUploadCutOff_StaysRecorded_AndItsResumeSendsTheRestAndOneMessage()
    {
        var dropping = new DroppingHandler { FailChunkUploads = [1, 1, 1, 1, 1] };
        var (alice, bob) = await ContactsAsync(dropping);
        var file = WriteFile("big.bin", 3 * ApiLimits.AttachmentChunkBytes, "x");
        var bobContact = new Conversation(await alice.Contacts.ResolveAsync("bob"), null);

        await Assert.ThrowsAnyAsync<MessagingException>(() => alice.Attachments.SendAsync(bobContact, file, null, null, Ct));
        var pending = await alice.Attachments.PendingUploadsAsync();
        var nothingYet = (await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct)).Events;
        dropping.ChunkUploads.Clear();
        var messageId = await alice.Attachments.ResumeUploadAsync(pending.Single(), null, Ct);
        var afterResume = await alice.Attachments.PendingUploadsAsync();
        var texts = (await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct)).Events.Where(e => e.Kind == ReceivedKind.Text).ToList();
        var saved = await bob.Attachments.SaveAsync(texts.Single().Attachment!.AttachmentId.ToString("N"), Path.Combine(_folder, "big.saved"), false, null, Ct);

        Assert.Empty(nothingYet);
        Assert.NotNull(messageId);
        // Chunk 0 arrived before the drop; only the rest was sent again.
        Assert.DoesNotContain(0, dropping.ChunkUploads);
        Assert.Empty(afterResume);
        Assert.Empty(Directory.GetFiles(Path.Combine(Home, "alice", AttachmentBook.TransfersFolder)));
        Assert.Equal(await File.ReadAllBytesAsync(file, Ct), await File.ReadAllBytesAsync(saved, Ct));
    }

    [Theory]
    [InlineData("../../.bashrc")]
    [InlineData("/etc/passwd")]
    [InlineData("..")]
    [InlineData(".profile")]
    [InlineData("invoice\u202Etxt.exe")]
    [InlineData("CON.txt")]
    [InlineData("line\nbreak")]
    public async Task ASendersUnsafeName_IsRefusedAsAFileName_ButTheFileSavesUnderAPathTheUserGives(string name)
    {
        var (alice, bob) = await ContactsAsync();
        var pointer = await ForgedAsync(alice, bob, name);
        var item = (await bob.Attachments.ListAsync()).Single();

        var refused = await Assert.ThrowsAsync<AttachmentRefusedException>(() => bob.Attachments.SaveAsync(item.ShortId, _folder, overwrite: false, null, Ct));
        var inCurrentFolder = await Assert.ThrowsAsync<AttachmentRefusedException>(() => bob.Attachments.SaveAsync(item.ShortId, null, overwrite: false, null, Ct));
        var chosen = await bob.Attachments.SaveAsync(item.ShortId, Path.Combine(_folder, "chosen.bin"), overwrite: false, null, Ct);

        Assert.Contains("give a path", refused.Message, StringComparison.Ordinal);
        Assert.Contains("give a path", inCurrentFolder.Message, StringComparison.Ordinal);
        Assert.Equal([Path.Combine(_folder, "chosen.bin")], Directory.GetFiles(_folder));
        Assert.Equal(pointer.Size, new FileInfo(chosen).Length);
    }

    [Fact]
    public async Task AFileThatDoesNotMatchItsDigest_FailsBeforeTheDestinationIsWritten_AndIsMarkedFailed()
    {
        var (alice, bob) = await ContactsAsync();
        await ForgedAsync(alice, bob, "report.pdf", tamper: pointer => pointer with { Digest = SHA256.HashData(pointer.Digest) });
        var item = (await bob.Attachments.ListAsync()).Single();
        var destination = Path.Combine(_folder, "report.pdf");

        var failure = await Assert.ThrowsAsync<ProtocolException>(() => bob.Attachments.SaveAsync(item.ShortId, destination, overwrite: false, null, Ct));
        var after = await bob.Attachments.ResolveAsync(item.ShortId);

        Assert.Equal(ProtocolError.DecryptionFailed, failure.Reason);
        Assert.False(File.Exists(destination));
        Assert.Empty(Directory.GetFiles(_folder));
        Assert.Equal(("failed", true), (after.State, after.Row.Error!.Contains("digest", StringComparison.Ordinal)));
        Assert.Empty(Directory.GetFiles(Path.Combine(Home, "bob", AttachmentBook.TransfersFolder)));
    }

    [Fact]
    public async Task AFileTheServerNoLongerHas_IsReportedClearly_AndMarkedFailed_WithNothingWritten()
    {
        var (alice, bob) = await ContactsAsync();
        await alice.Attachments.SendAsync(new Conversation(await alice.Contacts.ResolveAsync("bob"), null), WriteFile("gone.txt", 4000, "x"), null, null, Ct);
        await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct);
        var item = (await bob.Attachments.ListAsync()).Single();
        await using (var delete = fixture.DataSource.CreateCommand("DELETE FROM pigeon.attachments WHERE attachment_id = @id"))
        {
            delete.Parameters.AddWithValue("id", item.Row.AttachmentId);
            Assert.Equal(1, await delete.ExecuteNonQueryAsync(Ct));
        }

        var refused = await Assert.ThrowsAsync<AttachmentRefusedException>(() => bob.Attachments.SaveAsync(item.ShortId, Path.Combine(_folder, "gone.txt"), false, null, Ct));
        var after = await bob.Attachments.ResolveAsync(item.ShortId);

        Assert.Equal("The server no longer has gone.txt (it expired, or was never completed).", refused.Message);
        Assert.Equal("failed", after.State);
        Assert.Empty(Directory.GetFiles(_folder));
        Assert.Empty(Directory.GetFiles(Path.Combine(Home, "bob", AttachmentBook.TransfersFolder)));
    }

    [Fact]
    public async Task FilesUpToTheAutoDownloadSize_AreFetchedOnArrival_StillEncrypted_AndLargerOnesWait()
    {
        var (alice, bob) = await ContactsAsync();
        await bob.SaveSettingsAsync((await bob.GetSettingsAsync()) with { AutoDownloadBytes = 200_000 });
        var marker = $"tapir{Guid.NewGuid():N}";
        var bobContact = new Conversation(await alice.Contacts.ResolveAsync("bob"), null);
        await alice.Attachments.SendAsync(bobContact, WriteFile("small.txt", 150_000, marker), null, null, Ct);
        await alice.Attachments.SendAsync(bobContact, WriteFile("large.txt", 250_000, marker), null, null, Ct);

        var events = (await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct)).Events;
        var fetched = await bob.Attachments.FetchNewAsync(events, Ct);
        var states = (await bob.Attachments.ListAsync()).ToDictionary(i => i.Row.Pointer.Name, i => i.State);
        var downloaded = Directory.GetFiles(Path.Combine(Home, "bob", AttachmentBook.TransfersFolder));
        var fetchedAgain = await bob.Attachments.FetchNewAsync(events, Ct);

        Assert.Equal(["small.txt"], fetched.Select(f => f.Row.Pointer.Name));
        Assert.Equal(("downloaded", "offered"), (states["small.txt"], states["large.txt"]));
        Assert.False(Contains(File.ReadAllBytes(Assert.Single(downloaded)), Encoding.UTF8.GetBytes(marker)), "the downloaded file is not encrypted");
        Assert.Empty(fetchedAgain);
    }

    [Fact]
    public async Task UnderADisappearingTimer_TheServerKeepsTheFileNoLonger_AndTheFileGoesWithItsMessage()
    {
        var (alice, bob) = await ContactsAsync();
        await alice.Contacts.SetTimerAsync("bob", TimeSpan.FromHours(1), Ct);
        await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct);
        await alice.Attachments.SendAsync(new Conversation(await alice.Contacts.ResolveAsync("bob"), null), WriteFile("brief.txt", 10_000, "x"), null, null, Ct);
        var events = (await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct)).Events;
        var fetched = await bob.Attachments.FetchNewAsync(events, Ct);
        var id = fetched.Single().Row.AttachmentId;
        await using var lifetime = fixture.DataSource.CreateCommand("SELECT expires_at - created_at FROM pigeon.attachments WHERE attachment_id = @id");
        lifetime.Parameters.AddWithValue("id", id);
        var kept = (TimeSpan)(await lifetime.ExecuteScalarAsync(Ct))!;

        fixture.Clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromMinutes(1));
        await bob.MaintainAsync(Ct);
        await alice.MaintainAsync(Ct);

        Assert.Equal(TimeSpan.FromHours(1), kept);
        Assert.Empty(await bob.Attachments.ListAsync());
        Assert.Empty(await alice.Attachments.ListAsync());
        Assert.Empty(Directory.GetFiles(Path.Combine(Home, "bob", AttachmentBook.TransfersFolder)));
    }

    [Fact]
    public async Task AFileLargerThanAllowed_OrMissing_IsRefusedBeforeAnythingIsRecordedOrUploaded()
    {
        var (alice, _) = await ContactsAsync(maxAttachmentBytes: 1000);
        var bobContact = new Conversation(await alice.Contacts.ResolveAsync("bob"), null);
        var uploadsBefore = await UploadCountAsync();

        var tooLarge = await Assert.ThrowsAsync<AttachmentRefusedException>(() => alice.Attachments.SendAsync(bobContact, WriteFile("big.bin", 1001, "x"), null, null, Ct));
        var missing = await Assert.ThrowsAsync<AttachmentRefusedException>(() => alice.Attachments.SendAsync(bobContact, Path.Combine(_folder, "nope"), null, null, Ct));
        var folder = await Assert.ThrowsAsync<AttachmentRefusedException>(() => alice.Attachments.SendAsync(bobContact, _folder, null, null, Ct));

        Assert.Contains("at most 1000 B", tooLarge.Message, StringComparison.Ordinal);
        Assert.Contains("There is no file", missing.Message, StringComparison.Ordinal);
        Assert.Contains("is a folder", folder.Message, StringComparison.Ordinal);
        Assert.Empty(await alice.Attachments.PendingUploadsAsync());
        Assert.Empty(await alice.Attachments.ListAsync());
        Assert.Equal(uploadsBefore, await UploadCountAsync());
    }

    [Fact]
    public async Task AFileToAGroup_IsOneUpload_AndEveryMemberSavesIt()
    {
        var (alice, bob) = await ContactsAsync();
        var carol = await CreateAsync("carol", null);
        await ConnectAsync(alice, carol);
        var group = await alice.Groups.CreateAsync("Team", ["bob", "carol"], open: false, Ct);
        await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct);
        await carol.Inbox.PollAsync(0, TimeSpan.Zero, Ct);
        var file = WriteFile("plan.md", 70_000, "plan");
        var uploadsBefore = await UploadCountAsync();

        await alice.Attachments.SendAsync(new Conversation(null, group), file, "the plan", null, Ct);
        foreach (var member in new[] { bob, carol })
        {
            var text = (await member.Inbox.PollAsync(0, TimeSpan.Zero, Ct)).Events.Single(e => e.Kind == ReceivedKind.Text);
            var item = (await member.Attachments.ListAsync()).Single();
            var saved = await member.Attachments.SaveAsync(item.ShortId, Path.Combine(_folder, $"{member.Profile.DisplayName}.md"), false, null, Ct);

            Assert.Equal((group.IdHex, "the plan", "Team"), (text.GroupId, text.Body, item.ConversationLabel));
            Assert.Equal(await File.ReadAllBytesAsync(file, Ct), await File.ReadAllBytesAsync(saved, Ct));
        }

        Assert.Equal(uploadsBefore + 1, await UploadCountAsync());
    }

    // A real upload, sent in a message whose pointer the sender changed first (a malicious sender).
    private async Task<AttachmentPointer> ForgedAsync(ProfileSession alice, ProfileSession bob, string name, Func<AttachmentPointer, AttachmentPointer>? tamper = null)
    {
        var path = WriteFile("real.bin", 5000, "x");
        using var http = fixture.Gateway.CreateClient();
        var uploader = await Pigeon.Tests.Testing.ApiClient.RegisterAndLoginAsync(http);
        var transfer = new AttachmentTransfer(Pigeon.Tests.Testing.ApiClient.As(http, uploader));
        var upload = await transfer.BeginUploadAsync(path, path + ".enc", "real.bin", "application/octet-stream", null, Ct);
        await transfer.ResumeUploadAsync(upload, null, Ct);
        var pointer = (tamper ?? (p => p))(upload.Pointer with { Name = name });
        await alice.Outbox.SendAsync(await alice.Contacts.ResolveAsync("bob"), null, pointer, Ct);
        await bob.Inbox.PollAsync(0, TimeSpan.Zero, Ct);
        File.Delete(path);
        File.Delete(path + ".enc");
        return pointer;
    }

    private string Home => Path.Combine(_folder, "home");

    private async Task<(ProfileSession Alice, ProfileSession Bob)> ContactsAsync(DelegatingHandler? handler = null, long? maxAttachmentBytes = null)
    {
        var alice = await CreateAsync("alice", handler, maxAttachmentBytes);
        var bob = await CreateAsync("bob", null);
        await ConnectAsync(alice, bob);
        return (alice, bob);
    }

    private static async Task ConnectAsync(ProfileSession inviter, ProfileSession invitee)
    {
        await inviter.Contacts.InviteAsync(invitee.Profile.AccountId, null, Ct);
        await invitee.Inbox.PollAsync(0, TimeSpan.Zero, Ct);
        await invitee.Contacts.AcceptAsync(inviter.Profile.AccountId, Ct);
        await inviter.Inbox.PollAsync(0, TimeSpan.Zero, Ct);
    }

    private async Task<ProfileSession> CreateAsync(string name, DelegatingHandler? handler, long? maxAttachmentBytes = null)
    {
        // One client over the handler a test watches (a handler serves one client); otherwise a new one per connection.
        var watched = handler is null ? null : fixture.Gateway.CreateDefaultClient(handler);
        var environment = new MessagingEnvironment
        {
            ConnectApi = (server, credentials) => watched is null
                ? new PigeonApiClient(fixture.Gateway.CreateClient(), credentials, disposeHttpClient: true)
                : new PigeonApiClient(watched, credentials),
            Time = fixture.Clock,
            KdfParameters = new PassphraseKeyParameters(8 * 1024, 1),
            MaxAttachmentBytes = maxAttachmentBytes ?? 100L * 1024 * 1024,
        };
        var directory = Path.Combine(Home, name);
        await ProfileSession.CreateAsync(environment, directory, fixture.Gateway.CreateClient().BaseAddress!, name, null, Ct);
        var session = ProfileSession.Open(environment, directory, () => null);
        _sessions.Add(session);
        return session;
    }

    private string WriteFile(string name, int size, string marker)
    {
        var path = Path.Combine(Directory.CreateDirectory(Path.Combine(_folder, "files")).FullName, name);
        var bytes = new byte[size];
        var text = Encoding.UTF8.GetBytes(marker + "\n");
        for (var i = 0; i < size; i++)
        {
            bytes[i] = text[i % text.Length];
        }

        File.WriteAllBytes(path, bytes);
        return path;
    }

    private byte[] ProfileFiles(string profile) =>
        [.. Directory.GetFiles(Path.Combine(Home, profile), "*", SearchOption.AllDirectories).SelectMany(File.ReadAllBytes)];

    private static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;

    private async Task<long> UploadCountAsync()
    {
        await using var command = fixture.DataSource.CreateCommand("SELECT count(*) FROM pigeon.attachments");
        return (long)(await command.ExecuteScalarAsync(Ct))!;
    }
}
