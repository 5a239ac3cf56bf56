using Pigeon.Client.Cli;
using Pigeon.Client.Commands;
using Pigeon.Messaging.Profiles;
using StreamJsonRpc;

namespace Pigeon.Client.Daemon;

/// <summary>
/// The methods of the daemon's JSON-RPC interface, one instance per connection (docs/daemon.md,
/// schema <see cref="SchemaVersion"/>). A failure the CLI would report comes back as a JSON-RPC error
/// whose code is the CLI's exit code for it and whose message is the CLI's; bad arguments are
/// <see cref="InvalidParams"/>.
/// </summary>
public sealed class DaemonApi
{
    /// <summary>The version of the methods and shapes; a change that breaks a client raises it.</summary>
    public const int SchemaVersion = 1;

    /// <summary>JSON-RPC 2.0's "invalid params".</summary>
    public const int InvalidParams = -32602;

    private readonly DaemonHost _host;
    private readonly DaemonConnection _connection;

    internal DaemonApi(DaemonHost host, DaemonConnection connection)
    {
        _host = host;
        _connection = connection;
    }

    private ProfileSession Session => _host.Session;

    /// <summary>The schema version, this build's version, and whether messages wait for <see cref="AckAsync"/>.</summary>
    [JsonRpcMethod("version")]
    public VersionInfo Version() => new(SchemaVersion, typeof(DaemonApi).Assembly.GetName().Version?.ToString() ?? "?", _host.ManualAck);

    /// <summary>This profile.</summary>
    [JsonRpcMethod("whoami")]
    public WhoamiInfo Whoami() =>
        new(Session.Profile.AccountId, Session.Profile.DisplayName, Session.Profile.Server, WhoamiCommand.Fingerprint(Session.Profile.PublicIdentity));

    /// <summary>Starts notifications on this connection; in manual mode every held message is notified again first.</summary>
    [JsonRpcMethod("subscribe")]
    public Task<SubscribeResult> SubscribeAsync() => Run(() => _connection.SubscribeAsync());

    /// <summary>Releases held messages (manual mode): they will not be notified again.</summary>
    [JsonRpcMethod("ack")]
    public Task<AckResult> AckAsync(string[] messageIds) => Run(async () =>
    {
        if (messageIds is not { Length: > 0 })
        {
            throw Invalid("messageIds must list at least one message id.");
        }
        var ids = messageIds.Select(id => Guid.TryParse(id, out var parsed) ? parsed : throw Invalid($"'{id}' is not a message id.")).ToList();
        var unknown = await Session.Inbox.ReleaseAsync(ids);
        return new AckResult(ids.Count - unknown.Count, unknown);
    });

    /// <summary>Every contact, with its unread count.</summary>
    [JsonRpcMethod("contacts")]
    public Task<List<ContactInfo>> ContactsAsync() => Run(async () =>
    {
        var unread = await Session.Contacts.UnreadCountsAsync();
        return (await Session.Contacts.AllAsync()).ConvertAll(c => ContactInfo.From(c, unread.GetValueOrDefault(c.AccountId)));
    });

    /// <summary>Pending contact requests.</summary>
    [JsonRpcMethod("requests")]
    public Task<List<RequestInfo>> RequestsAsync() => Run(async () => (await Session.Contacts.RequestsAsync()).ConvertAll(RequestInfo.From));

    /// <summary>Asks an account to become a contact.</summary>
    [JsonRpcMethod("invite")]
    public Task<ContactInfo> InviteAsync(string accountId, string? message = null) => Run(async () =>
    {
        var contact = await Session.Contacts.InviteAsync(Required(accountId, nameof(accountId)), message, _host.Stopping);
        _host.Notify("contact", new ContactNotification("invited", contact.AccountId, null));
        return ContactInfo.From(contact, 0);
    });

    /// <summary>Accepts a request (by account id or name).</summary>
    [JsonRpcMethod("accept")]
    public Task<ContactInfo> AcceptAsync(string contact) => Run(async () =>
    {
        var accepted = await Session.Contacts.AcceptAsync(Required(contact, nameof(contact)), _host.Stopping);
        _host.Notify("contact", new ContactNotification("accepted", accepted.AccountId, PeerText.Json(accepted.DisplayName)));
        return ContactInfo.From(accepted, 0);
    });

    /// <summary>Declines a request: it is forgotten, nothing is sent.</summary>
    [JsonRpcMethod("decline")]
    public Task<RequestInfo> DeclineAsync(string contact) => Run(async () =>
    {
        var declined = await Session.Contacts.DeclineAsync(Required(contact, nameof(contact)), _host.Stopping);
        _host.Notify("contact", new ContactNotification("declined", declined.AccountId, PeerText.Json(declined.DisplayName)));
        return RequestInfo.From(declined);
    });

    /// <summary>Removes a contact (its history too) and rotates our delivery key; nothing tells them.</summary>
    [JsonRpcMethod("remove")]
    public Task<ContactChangeResult> RemoveAsync(string contact) => Run(async () =>
    {
        var removed = await Session.Contacts.RemoveAsync(Required(contact, nameof(contact)).Trim(), _host.Stopping);
        _host.Notify("contact", new ContactNotification("removed", removed.AccountId, PeerText.Json(removed.DisplayName)));
        return new ContactChangeResult(removed.AccountId, PeerText.Json(removed.DisplayName));
    });

    /// <summary>Blocks a contact, a requester or any account id: what it sends is dropped unread.</summary>
    [JsonRpcMethod("block")]
    public Task<ContactChangeResult> BlockAsync(string contact) => Run(async () =>
    {
        var (accountId, name) = await Session.Contacts.BlockAsync(Required(contact, nameof(contact)).Trim(), _host.Stopping);
        _host.Notify("contact", new ContactNotification("blocked", accountId, PeerText.Json(name)));
        return new ContactChangeResult(accountId, PeerText.Json(name));
    });

    /// <summary>Unblocks an account id.</summary>
    [JsonRpcMethod("unblock")]
    public Task<ContactChangeResult> UnblockAsync(string accountId) => Run(async () =>
    {
        var id = Required(accountId, nameof(accountId)).Trim();
        await Session.Contacts.UnblockAsync(id, _host.Stopping);
        _host.Notify("contact", new ContactNotification("unblocked", id, null));
        return new ContactChangeResult(id, null);
    });

    /// <summary>Every blocked account.</summary>
    [JsonRpcMethod("blocked")]
    public Task<List<BlockedInfo>> BlockedAsync() => Run(async () => (await Session.Contacts.BlockedAsync()).ConvertAll(b => new BlockedInfo(b.AccountId, b.BlockedAt)));

    /// <summary>Every group this profile knows.</summary>
    [JsonRpcMethod("groups")]
    public Task<List<GroupInfo>> GroupsAsync() => Run(async () => (await Session.Groups.AllAsync()).ConvertAll(g => GroupInfo.From(g, Session.Profile.AccountId)));

    /// <summary>Sends a text to a contact, or to a group (by title or id prefix).</summary>
    [JsonRpcMethod("send")]
    public Task<SendResult> SendAsync(string contact, string text) => Run(async () =>
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw Invalid("text must not be empty.");
        }
        var to = await Session.Groups.ResolveConversationAsync(Required(contact, nameof(contact)));
        return new SendResult(to.Group is { } group
            ? await Session.Groups.SendAsync(group, text, _host.Stopping)
            : await Session.Outbox.SendAsync(to.Contact!, text, _host.Stopping));
    });

    /// <summary>
    /// Encrypts the file at <paramref name="path"/> (on the daemon's machine), uploads it and sends it to a
    /// contact or a group, with <paramref name="caption"/> if given; answers once the message is deposited.
    /// </summary>
    [JsonRpcMethod("sendFile")]
    public Task<SendResult> SendFileAsync(string contact, string path, string? caption = null) => Run(async () =>
    {
        var to = await Session.Groups.ResolveConversationAsync(Required(contact, nameof(contact)));
        return new SendResult(await Session.Attachments.SendAsync(to, Path.GetFullPath(Required(path, nameof(path))),
            string.IsNullOrWhiteSpace(caption) ? null : caption, null, _host.Stopping));
    });

    /// <summary>The files messages carried, received and sent, newest first.</summary>
    [JsonRpcMethod("attachments")]
    public Task<List<AttachmentInfo>> AttachmentsAsync() => Run(async () => (await Session.Attachments.ListAsync()).ConvertAll(AttachmentInfo.From));

    /// <summary>
    /// Decrypts a received file (any unique prefix of its id) to <paramref name="path"/> (a file or a
    /// folder; default: the daemon's current folder, under the sender's name when it is safe); an existing
    /// file is replaced only with <paramref name="force"/>.
    /// </summary>
    [JsonRpcMethod("save")]
    public Task<SaveResult> SaveAsync(string id, string? path = null, bool force = false) => Run(async () =>
        new SaveResult(await Session.Attachments.SaveAsync(Required(id, nameof(id)), path, force, null, _host.Stopping)));

    /// <summary>The last <paramref name="limit"/> items with a contact or in a group, oldest first.</summary>
    [JsonRpcMethod("history")]
    public Task<List<HistoryItem>> HistoryAsync(string contact, int limit = 50) => Run(async () =>
    {
        if (limit < 1)
        {
            throw Invalid("limit must be at least 1.");
        }
        var conversation = await Session.Groups.ResolveConversationAsync(Required(contact, nameof(contact)));
        var messages = conversation.Group is { } group
            ? (await Session.Groups.HistoryAsync(group, limit)).Messages
            : (await Session.Contacts.HistoryAsync(conversation.Contact!.AccountId, limit)).Messages;
        return messages.ConvertAll(HistoryItem.From);
    });

    /// <summary>Marks a contact's unread messages read and, unless read receipts are off, tells them.</summary>
    [JsonRpcMethod("markRead")]
    public Task<MarkReadResult> MarkReadAsync(string contact) => Run(async () =>
    {
        var of = await Session.Contacts.ResolveAsync(Required(contact, nameof(contact)));
        var read = await Session.Contacts.MarkReadAsync(of, _host.Stopping);
        return new MarkReadResult(read, read.Count > 0 && (await Session.GetSettingsAsync()).ReadReceipts);
    });

    /// <summary>Says we started (true) or stopped typing to a contact; nothing is sent when typing indicators are off.</summary>
    [JsonRpcMethod("typing")]
    public Task<TypingResult> TypingAsync(string contact, bool typing) => Run(async () =>
    {
        var to = await Session.Contacts.ResolveAsync(Required(contact, nameof(contact)));
        return new TypingResult(await Session.Outbox.SendTypingAsync(to, typing, _host.Stopping));
    });

    /// <summary>The safety number with a contact; <paramref name="confirm"/> marks them verified.</summary>
    [JsonRpcMethod("verify")]
    public Task<VerifyResult> VerifyAsync(string contact, bool confirm = false) => Run(async () =>
    {
        var (of, number) = await Session.Contacts.SafetyNumberAsync(Required(contact, nameof(contact)));
        if (confirm)
        {
            await Session.Contacts.MarkVerifiedAsync(of, _host.Stopping);
        }
        return new VerifyResult(of.AccountId, number, confirm || of.Verified);
    });

    /// <summary>Shows the settings, or changes those given.</summary>
    [JsonRpcMethod("settings")]
    public Task<SettingsInfo> SettingsAsync(bool? readReceipts = null, bool? typing = null, long? autoDownloadBytes = null) => Run(async () =>
    {
        if (autoDownloadBytes < 0)
        {
            throw Invalid("autoDownloadBytes must be 0 (never) or more.");
        }
        var settings = await Session.GetSettingsAsync();
        settings = settings with
        {
            ReadReceipts = readReceipts ?? settings.ReadReceipts,
            TypingIndicators = typing ?? settings.TypingIndicators,
            AutoDownloadBytes = autoDownloadBytes ?? settings.AutoDownloadBytes,
        };
        await Session.SaveSettingsAsync(settings);
        return new SettingsInfo(settings.ReadReceipts, settings.TypingIndicators, settings.AutoDownloadBytes);
    });

    private static string Required(string? value, string name) =>
        string.IsNullOrWhiteSpace(value) ? throw Invalid($"{name} is required.") : value;

    private static LocalRpcException Invalid(string message) => new(message) { ErrorCode = InvalidParams };

    // The CLI's one mapping of failures: its exit code becomes the error code, its message the error's.
    private static async Task<T> Run<T>(Func<Task<T>> work)
    {
        try
        {
            return await work();
        }
        catch (Exception exception) when (exception is not LocalRpcException && PigeonCommand.AsCliException(exception) is { } failure)
        {
            throw new LocalRpcException(failure.Message) { ErrorCode = failure.ExitCode };
        }
    }
}
