using System.Net;
using Pigeon.Messaging.Groups;
using Pigeon.Messaging.Profiles;
using Pigeon.Messaging.Store;
using Pigeon.Protocol;
using Pigeon.Protocol.Attachments;

namespace Pigeon.Messaging.Attachments;

/// <summary>A file a message carried, with what a listing shows of it.</summary>
/// <param name="Row">What is kept of it.</param>
/// <param name="ConversationLabel">The contact's name or the group's title.</param>
/// <param name="AuthorLabel">Who sent it: a contact's name, or what the sender called themselves.</param>
/// <param name="Expired">The server has deleted it (a file not downloaded yet can no longer be).</param>
public sealed record AttachmentItem(AttachmentRow Row, string ConversationLabel, string? AuthorLabel, bool Expired)
{
    /// <summary>How the listing names it: the first 8 hex digits of its id (any unique prefix is accepted).</summary>
    public string ShortId => Row.AttachmentId.ToString("N")[..8];

    /// <summary>Where it stands, as shown: <c>offered</c>, <c>downloaded</c>, <c>saved</c>, <c>failed</c>, <c>sent</c> or <c>expired</c>.</summary>
    public string State => Row.State switch
    {
        AttachmentState.Offered when Expired => "expired",
        AttachmentState.Fetched => "downloaded",
        _ => Row.State.ToString().ToLowerInvariant(),
    };
}

/// <summary>
/// The files of a profile: sent (encrypted into the profile's <c>transfers</c> folder, uploaded, then
/// the message with the pointer), received (the pointer kept sealed; the ciphertext fetched into the
/// profile, on arrival when it is small enough, or when saved) and saved. An upload is recorded before
/// its first byte goes out and a download continues from the bytes it has, so a process that dies
/// part-way resumes with <see cref="ResumeUploadAsync"/> or the next <see cref="SaveAsync"/>.
/// </summary>
public sealed class AttachmentBook
{
    /// <summary>The folder, inside the profile, of files being uploaded or downloaded (ciphertext only).</summary>
    public const string TransfersFolder = "transfers";

    // A file there that no upload names is left by a process that died between encrypting and
    // recording it; one this old is not being written by anyone.
    private static readonly TimeSpan OrphanAge = TimeSpan.FromHours(1);

    private static readonly Dictionary<string, string> MediaTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        [".txt"] = "text/plain", [".log"] = "text/plain", [".md"] = "text/markdown", [".csv"] = "text/csv", [".json"] = "application/json",
        [".html"] = "text/html", [".xml"] = "application/xml", [".pdf"] = "application/pdf", [".zip"] = "application/zip",
        [".gz"] = "application/gzip", [".tar"] = "application/x-tar", [".png"] = "image/png", [".jpg"] = "image/jpeg", [".jpeg"] = "image/jpeg",
        [".gif"] = "image/gif", [".webp"] = "image/webp", [".svg"] = "image/svg+xml", [".mp3"] = "audio/mpeg", [".ogg"] = "audio/ogg",
        [".mp4"] = "video/mp4", [".webm"] = "video/webm",
    };

    private readonly ProfileSession _session;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Guid, bool> _inFlight = new();

    internal AttachmentBook(ProfileSession session) => _session = session;

    private string Transfers => Path.Combine(_session.Directory, TransfersFolder);

    /// <summary>
    /// Encrypts the file at <paramref name="path"/> with a fresh key, uploads it and sends it to
    /// <paramref name="conversation"/> with <paramref name="caption"/> (optional); returns the message's
    /// history id. Progress is reported in ciphertext bytes. When the upload or the message cannot go
    /// now, the upload stays recorded and <see cref="ResumeUploadAsync"/> finishes it.
    /// </summary>
    /// <exception cref="AttachmentRefusedException">No such file, a folder, or larger than allowed; nothing was recorded.</exception>
    public async Task<Guid> SendAsync(Conversation conversation, string path, string? caption, IProgress<TransferProgress>? progress, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(conversation);
        var file = new FileInfo(path);
        if (Directory.Exists(path))
        {
            throw new AttachmentRefusedException($"{path} is a folder: send one file (an archive of the folder, for instance).");
        }

        if (!file.Exists)
        {
            throw new AttachmentRefusedException($"There is no file at {path}.");
        }

        var limit = _session.Environment.MaxAttachmentBytes;
        if (file.Length > limit)
        {
            throw new AttachmentRefusedException($"{file.Name} is {Sizes.Format(file.Length)}; a file may be at most {Sizes.Format(limit)}.");
        }

        if (conversation.Group is { } group && !group.HasMember(_session.Profile.AccountId))
        {
            throw new GroupChangeException($"You are not a member of '{group.Title}' any more.");
        }

        CreateTransfersFolder();
        var ciphertextFile = $"{Guid.NewGuid():N}.up";
        var ciphertextPath = Path.Combine(Transfers, ciphertextFile);
        PendingUpload pending;
        try
        {
            pending = await _session.CallServerAsync(api => new AttachmentTransfer(api).BeginUploadAsync(file.FullName, ciphertextPath, file.Name,
                MediaTypes.GetValueOrDefault(file.Extension, "application/octet-stream"), conversation.Contact?.Timer, ct));
        }
        catch
        {
            File.Delete(ciphertextPath);
            throw;
        }

        var upload = new UploadRow(pending.Pointer, conversation.Key, ciphertextFile, caption, _session.Time.GetUtcNow());
        await _session.WithStoreAsync(database => database.Uploads.Save(upload));
        return await FinishAsync(upload, progress, ct) ?? throw new AttachmentRefusedException("The conversation is gone; the file was not sent.");
    }

    /// <summary>
    /// The uploads a process began and did not send (it died, or the server went away); each is
    /// finished with <see cref="ResumeUploadAsync"/>. Encrypted files no upload names are deleted.
    /// </summary>
    public async Task<List<UploadRow>> PendingUploadsAsync()
    {
        var uploads = await _session.WithStoreAsync(database => database.Uploads.All());
        DeleteOrphans(uploads);
        return uploads;
    }

    /// <summary>
    /// Sends what the server lacks of <paramref name="upload"/>, then its message; returns the
    /// message's history id, or null when its conversation is gone (the upload is dropped).
    /// </summary>
    /// <exception cref="AttachmentRefusedException">The server no longer has the upload (it is dropped: send the file again).</exception>
    public Task<Guid?> ResumeUploadAsync(UploadRow upload, IProgress<TransferProgress>? progress, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(upload);
        return FinishAsync(upload, progress, ct);
    }

    /// <summary>Every file sent and received, newest first.</summary>
    public async Task<List<AttachmentItem>> ListAsync()
    {
        await _session.DeleteExpiredMessagesAsync();
        await PruneAsync();
        var now = _session.Time.GetUtcNow();
        return await _session.WithStoreAsync(database => database.Attachments.All().ConvertAll(row => Item(database, row, now)));
    }

    /// <summary>
    /// Forgets the files whose message is gone (its timer ran out, or its conversation was removed),
    /// with any ciphertext downloaded for them; <see cref="ProfileSession.MaintainAsync"/> runs it.
    /// </summary>
    internal Task PruneAsync() => _session.WithStoreAsync(database => database.InTransaction(() =>
    {
        foreach (var row in database.Attachments.All().Where(row => MessageOf(database, row) is null))
        {
            Forget(database, row);
        }
    }));

    /// <summary>The attachment whose id starts with <paramref name="reference"/> (hex, dashes ignored).</summary>
    /// <exception cref="AttachmentNotFoundException">None does, or several do.</exception>
    public async Task<AttachmentItem> ResolveAsync(string reference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        var prefix = reference.Replace("-", "", StringComparison.Ordinal).Trim().ToLowerInvariant();
        var matches = prefix.Length == 0 ? [] : (await ListAsync()).Where(item => item.Row.AttachmentId.ToString("N").StartsWith(prefix, StringComparison.Ordinal)).ToList();
        return matches.Count == 1 ? matches[0] : throw new AttachmentNotFoundException(reference, matches.Count);
    }

    /// <summary>
    /// Downloads the received files among <paramref name="events"/> up to the profile's
    /// <see cref="ProfileSettings.AutoDownloadBytes"/>, into the profile (still encrypted). A failure
    /// is recorded on the file and does not stop the others; returns the files now downloaded.
    /// </summary>
    public async Task<List<AttachmentItem>> FetchNewAsync(IEnumerable<Delivery.ReceivedEvent> events, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(events);
        var limit = (await _session.GetSettingsAsync()).AutoDownloadBytes;
        var fetched = new List<AttachmentItem>();
        foreach (var pointer in events.Select(e => e.Attachment).OfType<AttachmentPointer>().Where(p => p.Size <= limit))
        {
            var row = await _session.WithStoreAsync(database => database.Attachments.Find(pointer.AttachmentId));
            if (row is not { State: AttachmentState.Offered, Direction: Store.MessageDirection.In })
            {
                continue;
            }

            try
            {
                fetched.Add(await FetchAsync(row, null, ct));
            }
            catch (Exception exception) when (exception is MessagingException or ProtocolException or IOException)
            {
                // Recorded on the file (or, for a server away, left to the next save); the messages stay received.
            }
        }

        return fetched;
    }

    /// <summary>
    /// Decrypts the received file <paramref name="reference"/> (an id prefix) to <paramref name="path"/>:
    /// a file, or a folder to put it in under the sender's name; null puts it in the current folder
    /// under that name. The sender's name is used only when <see cref="AttachmentNames"/> allows it.
    /// An existing file is never replaced unless <paramref name="overwrite"/>. The file is fetched first
    /// when it is not here yet, continuing a download cut off before; its digest is checked before a
    /// byte is written. Returns the path written.
    /// </summary>
    /// <exception cref="AttachmentRefusedException">The name is unsafe, the destination exists, or the file is ours.</exception>
    public async Task<string> SaveAsync(string reference, string? path, bool overwrite, IProgress<TransferProgress>? progress, CancellationToken ct)
    {
        var item = await ResolveAsync(reference);
        var row = item.Row;
        if (row.Direction == Store.MessageDirection.Out)
        {
            throw new AttachmentRefusedException($"{item.ShortId} is a file you sent; only received files are saved.");
        }

        var destination = Destination(row.Pointer, path);
        if (File.Exists(destination) && !overwrite)
        {
            throw new AttachmentRefusedException($"{destination} exists: add --force to replace it.", destinationExists: true);
        }

        if (Directory.Exists(destination))
        {
            throw new AttachmentRefusedException($"{destination} is a folder.");
        }

        if (row.State != AttachmentState.Fetched || !File.Exists(CiphertextPath(row)))
        {
            row = (await FetchAsync(row, progress, ct)).Row;
        }

        try
        {
            await AttachmentTransfer.OpenAsync(row.Pointer, CiphertextPath(row), destination, overwrite, ct);
        }
        catch (ProtocolException exception)
        {
            await FailAsync(row, exception.Message);
            throw;
        }

        File.Delete(CiphertextPath(row));
        var saved = row with { State = AttachmentState.Saved, SavedTo = destination, Error = null };
        await _session.WithStoreAsync(database => database.Attachments.Save(saved));
        return destination;
    }

    // Downloads the ciphertext into the profile, continuing after what it holds, and checks its digest.
    private async Task<AttachmentItem> FetchAsync(AttachmentRow row, IProgress<TransferProgress>? progress, CancellationToken ct)
    {
        CreateTransfersFolder();
        var ciphertextPath = CiphertextPath(row);
        try
        {
            await _session.CallServerAsync(api => new AttachmentTransfer(api).FetchAsync(row.Pointer, ciphertextPath, progress, ct));
            await using (var ciphertext = File.OpenRead(ciphertextPath))
            {
                await AttachmentCipher.CheckDigest(ciphertext, row.Pointer.Digest, row.Pointer.Size, ct);
            }
        }
        catch (ServerRefusedException exception) when (exception.Problem.Status == HttpStatusCode.NotFound)
        {
            await FailAsync(row, "the server no longer has it (it expired, or its sender's upload never completed)");
            throw new AttachmentRefusedException($"The server no longer has {row.Pointer.Name} (it expired, or was never completed).");
        }
        catch (ProtocolException exception)
        {
            await FailAsync(row, exception.Message);
            throw;
        }

        var fetched = row with { State = AttachmentState.Fetched, Error = null };
        return await _session.WithStoreAsync(database =>
        {
            database.Attachments.Save(fetched);
            return Item(database, fetched, _session.Time.GetUtcNow());
        });
    }

    private async Task<Guid?> FinishAsync(UploadRow upload, IProgress<TransferProgress>? progress, CancellationToken ct)
    {
        // One upload is finished once: a resume while its own send is still going (the daemon) leaves it to that send.
        if (!_inFlight.TryAdd(upload.Pointer.AttachmentId, true))
        {
            return null;
        }

        try
        {
            return await FinishOnceAsync(upload, progress, ct);
        }
        finally
        {
            _inFlight.TryRemove(upload.Pointer.AttachmentId, out _);
        }
    }

    private async Task<Guid?> FinishOnceAsync(UploadRow upload, IProgress<TransferProgress>? progress, CancellationToken ct)
    {
        var ciphertextPath = Path.Combine(Transfers, upload.CiphertextFile);
        var conversation = await _session.WithStoreAsync(database => ConversationOf(database, upload.Conversation));
        if (conversation is null || !File.Exists(ciphertextPath))
        {
            await DropAsync(upload);
            return null;
        }

        try
        {
            await _session.CallServerAsync(api => new AttachmentTransfer(api).ResumeUploadAsync(new PendingUpload(upload.Pointer, ciphertextPath), progress, ct));
        }
        catch (ServerRefusedException exception) when (exception.Problem.Status == HttpStatusCode.NotFound)
        {
            await DropAsync(upload);
            throw new AttachmentRefusedException($"The server no longer has the upload of {upload.Pointer.Name} (it was cleaned up): send the file again.");
        }

        var messageId = conversation.Group is { } group
            ? await _session.Groups.SendAsync(group, upload.Caption, upload.Pointer, ct)
            : await _session.Outbox.SendAsync(conversation.Contact!, upload.Caption, upload.Pointer, ct);
        File.Delete(ciphertextPath);
        return messageId;
    }

    private async Task DropAsync(UploadRow upload)
    {
        await _session.WithStoreAsync(database => database.Uploads.Delete(upload.Pointer.AttachmentId));
        File.Delete(Path.Combine(Transfers, upload.CiphertextFile));
    }

    private Task FailAsync(AttachmentRow row, string error)
    {
        File.Delete(CiphertextPath(row));
        return _session.WithStoreAsync(database => database.Attachments.Save(row with { State = AttachmentState.Failed, Error = error }));
    }

    private void DeleteOrphans(List<UploadRow> uploads)
    {
        if (!Directory.Exists(Transfers))
        {
            return;
        }

        var named = uploads.Select(u => u.CiphertextFile).ToHashSet();
        foreach (var file in new DirectoryInfo(Transfers).EnumerateFiles("*.up"))
        {
            if (!named.Contains(file.Name) && file.LastWriteTimeUtc < DateTime.UtcNow - OrphanAge)
            {
                file.Delete();
            }
        }
    }

    private void Forget(ProfileDatabase database, AttachmentRow row)
    {
        database.Attachments.Delete(row.AttachmentId);
        File.Delete(CiphertextPath(row));
    }

    private string CiphertextPath(AttachmentRow row) => Path.Combine(Transfers, $"{row.AttachmentId:N}.down");

    private void CreateTransfersFolder()
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(Transfers);
        }
        else
        {
            Directory.CreateDirectory(Transfers, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private static string Destination(AttachmentPointer pointer, string? path)
    {
        if (path is not null && !Directory.Exists(path))
        {
            // A path the user typed is theirs to choose; only the sender's name is checked.
            return Path.GetFullPath(path);
        }

        if (AttachmentNames.Problem(pointer.Name) is { } problem)
        {
            throw new AttachmentRefusedException(
                $"The sender named the file '{PeerSafe(pointer.Name)}', which is not used as a file name here ({problem}): give a path to save it as.");
        }

        return Path.GetFullPath(Path.Combine(path ?? Directory.GetCurrentDirectory(), pointer.Name));
    }

    // The sender's name, for a message: control and formatting characters shown as '?'.
    private static string PeerSafe(string name) =>
        new([.. name.Take(AttachmentNames.MaxLength).Select(c => char.IsControl(c) || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format ? '?' : c)]);

    private static MessageRow? MessageOf(ProfileDatabase database, AttachmentRow row) => row.Direction == Store.MessageDirection.In
        ? database.Messages.FindIncoming(row.MessageId)
        : database.Messages.FindOutgoing(row.MessageId);

    private static Conversation? ConversationOf(ProfileDatabase database, string key)
    {
        if (key.StartsWith("group:", StringComparison.Ordinal))
        {
            return database.Groups.Find(key["group:".Length..]) is { } log ? new Conversation(null, log.Current) : null;
        }

        return database.Contacts.Find(key) is { } contact ? new Conversation(contact, null) : null;
    }

    private static AttachmentItem Item(ProfileDatabase database, AttachmentRow row, DateTimeOffset now)
    {
        var conversation = ConversationOf(database, row.Conversation);
        var label = conversation?.Group?.Title ?? conversation?.Contact?.Label ?? row.Conversation;
        var author = row.Author is { } accountId ? database.Contacts.Find(accountId)?.Label ?? row.AuthorName ?? accountId : null;
        return new AttachmentItem(row, label, author, row.Pointer.ExpiresAt <= now);
    }
}

/// <summary>Byte counts as people read them.</summary>
public static class Sizes
{
    /// <summary><c>512 B</c>, <c>1.5 KiB</c>, <c>10.0 MiB</c>, <c>1.2 GiB</c>.</summary>
    public static string Format(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => FormattableString.Invariant($"{bytes / 1024.0:0.0} KiB"),
        < 1024L * 1024 * 1024 => FormattableString.Invariant($"{bytes / (1024.0 * 1024):0.0} MiB"),
        _ => FormattableString.Invariant($"{bytes / (1024.0 * 1024 * 1024):0.0} GiB"),
    };

    /// <summary>Reads a size a person typed: a number of bytes with an optional unit (<c>K</c>/<c>KiB</c>, <c>M</c>/<c>MiB</c>, <c>G</c>/<c>GiB</c>; 1024-based).</summary>
    public static bool TryParse(string? text, out long bytes)
    {
        bytes = 0;
        var trimmed = (text ?? "").Trim();
        var digits = trimmed.TakeWhile(c => char.IsAsciiDigit(c) || c == '.').Count();
        if (digits == 0 || !double.TryParse(trimmed[..digits], System.Globalization.NumberStyles.AllowDecimalPoint, System.Globalization.CultureInfo.InvariantCulture,
            out var number))
        {
            return false;
        }

        double? scale = trimmed[digits..].Trim().ToUpperInvariant() switch
        {
            "" or "B" => 1,
            "K" or "KB" or "KIB" => 1024,
            "M" or "MB" or "MIB" => 1024 * 1024,
            "G" or "GB" or "GIB" => 1024 * 1024 * 1024,
            _ => null,
        };
        if (scale is null || number * scale > long.MaxValue / 2)
        {
            return false;
        }

        bytes = (long)Math.Round(number * scale.Value);
        return true;
    }
}
