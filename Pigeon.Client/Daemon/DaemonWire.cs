using Pigeon.Client.Cli;
using Pigeon.Messaging.Attachments;
using Pigeon.Messaging.Delivery;
using Pigeon.Messaging.Store;

namespace Pigeon.Client.Daemon;

// The shapes of docs/daemon.md, schema version 1. Peer-chosen text goes through PeerText.Json.

/// <summary>What <c>version</c> returns.</summary>
public sealed record VersionInfo(int Schema, string Pigeon, bool ManualAck);

/// <summary>What <c>whoami</c> returns.</summary>
public sealed record WhoamiInfo(string AccountId, string Name, string Server, string Fingerprint);

/// <summary>A contact, as <c>contacts</c>, <c>invite</c> and <c>accept</c> return it.</summary>
public sealed record ContactInfo(string AccountId, string? Name, string State, bool Verified, int Unread, DateTimeOffset? LastMessageAt)
{
    internal static ContactInfo From(ContactRow contact, int unread) => new(
        contact.AccountId, PeerText.Json(contact.DisplayName), contact.State == ContactState.Accepted ? "accepted" : "invited", contact.Verified, unread, contact.LastMessageAt);
}

/// <summary>A pending request, as <c>requests</c> returns it.</summary>
public sealed record RequestInfo(string AccountId, string? Name, string? Message, DateTimeOffset ReceivedAt)
{
    internal static RequestInfo From(RequestRow request) => new(request.AccountId, PeerText.Json(request.DisplayName), PeerText.Json(request.Message), request.ReceivedAt);
}

/// <summary>One history item, as <c>history</c> returns it.</summary>
public sealed record HistoryItem(Guid MessageId, string Direction, string Kind, string State, string? Body, DateTimeOffset? SentAt, DateTimeOffset At,
    string? Author = null, Guid? AttachmentId = null)
{
    internal static HistoryItem From(MessageRow m) => new(
        m.MessageId, m.Direction.ToString().ToLowerInvariant(), m.Kind.ToString().ToLowerInvariant(), m.State, PeerText.Json(m.Body), m.SentAt, m.At, m.Author,
        m.AttachmentId);
}

/// <summary>A group, as <c>groups</c> returns it: its id (hex), title, version, members and whether this profile is one.</summary>
public sealed record GroupInfo(string Id, string? Title, ulong Version, bool Open, IReadOnlyList<GroupMemberInfo> Members, bool Member)
{
    internal static GroupInfo From(Pigeon.Messaging.Groups.GroupState group, string me) => new(
        group.IdHex, PeerText.Json(group.Title), group.Version, group.Open,
        [.. group.Members.Select(m => new GroupMemberInfo(m.AccountId, m.Role == Pigeon.Messaging.Groups.GroupRole.Admin ? "admin" : "member"))], group.HasMember(me));
}

/// <summary>One member in a <see cref="GroupInfo"/>.</summary>
public sealed record GroupMemberInfo(string AccountId, string Role);

/// <summary>What <c>remove</c>, <c>block</c> and <c>unblock</c> return: the account, and the name it had.</summary>
public sealed record ContactChangeResult(string AccountId, string? Name);

/// <summary>A blocked account, as <c>blocked</c> returns it.</summary>
public sealed record BlockedInfo(string AccountId, DateTimeOffset BlockedAt);

/// <summary>What <c>send</c> returns.</summary>
public sealed record SendResult(Guid MessageId);

/// <summary>What <c>verify</c> returns.</summary>
public sealed record VerifyResult(string AccountId, string SafetyNumber, bool Verified);

/// <summary>What <c>markRead</c> returns: the messages marked, and whether a read receipt went out.</summary>
public sealed record MarkReadResult(IReadOnlyList<Guid> MessageIds, bool ReceiptSent);

/// <summary>What <c>typing</c> returns: false when typing indicators are off (nothing was sent).</summary>
public sealed record TypingResult(bool Sent);

/// <summary>What <c>settings</c> returns.</summary>
public sealed record SettingsInfo(bool ReadReceipts, bool Typing, long AutoDownloadBytes);

/// <summary>What <c>save</c> returns: the file written.</summary>
public sealed record SaveResult(string Path);

/// <summary>
/// A file a message carried, as <c>attachments</c> returns it: its id, <c>in</c> or <c>out</c>, the
/// sender, the conversation, the sender's name and media type for it (untrusted), its size, its state
/// (<c>offered</c>, <c>downloaded</c>, <c>saved</c>, <c>failed</c>, <c>expired</c>, <c>sent</c>) and where it was saved.
/// </summary>
public sealed record AttachmentInfo(
    Guid Id, string Direction, string? Sender, string? SenderName, string? Conversation, string? Name, string? ContentType, long Size, string State,
    DateTimeOffset At, DateTimeOffset ExpiresAt, string? SavedTo, string? Error)
{
    internal static AttachmentInfo From(AttachmentItem item) => new(
        item.Row.AttachmentId, item.Row.Direction.ToString().ToLowerInvariant(), item.Row.Author, PeerText.Json(item.AuthorLabel),
        PeerText.Json(item.ConversationLabel), PeerText.Json(item.Row.Pointer.Name), PeerText.Json(item.Row.Pointer.ContentType), item.Row.Pointer.Size,
        item.State, item.Row.At, item.Row.Pointer.ExpiresAt, item.Row.SavedTo, item.Row.Error);
}

/// <summary>The file a <c>message</c> notification's text carries: <c>save</c> takes its id.</summary>
public sealed record FileInfoNotice(Guid Id, string? Name, string? ContentType, long Size)
{
    internal static FileInfoNotice? From(AttachmentPointer? pointer) =>
        pointer is null ? null : new(pointer.AttachmentId, PeerText.Json(pointer.Name), PeerText.Json(pointer.ContentType), pointer.Size);
}

/// <summary>What <c>subscribe</c> returns: how many held messages follow as notifications.</summary>
public sealed record SubscribeResult(bool ManualAck, int Held);

/// <summary>What <c>ack</c> returns: how many were released, and the ids that were not held.</summary>
public sealed record AckResult(int Acknowledged, IReadOnlyList<Guid> Unknown);

/// <summary>
/// The <c>message</c> notification: a text, request, acceptance or failure that arrived, or (<c>sent</c>)
/// a text another of our devices sent, to <c>sentTo</c> (a contact's account id) or in the group <c>groupId</c>.
/// </summary>
public sealed record MessageNotification(
    string Kind, Guid MessageId, string? ContactId, string? Name, string? Body, DateTimeOffset? SentAt, DateTimeOffset ReceivedAt, string? Error,
    string? GroupId = null, string? GroupTitle = null, FileInfoNotice? File = null, string? SentTo = null)
{
    internal static MessageNotification From(ReceivedEvent e) => new(
        e.Kind.ToString().ToLowerInvariant(), e.MessageId, e.ContactId, PeerText.Json(e.ContactName), PeerText.Json(e.Body), e.SentAt, e.ReceivedAt, e.Error,
        e.GroupId, PeerText.Json(e.GroupTitle), FileInfoNotice.From(e.Attachment), e.SentTo);
}

/// <summary>The <c>receipt</c> notification: a contact got (<c>delivered</c>) or read (<c>read</c>) our messages.</summary>
public sealed record ReceiptNotification(string Kind, string ContactId, IReadOnlyList<Guid> MessageIds, DateTimeOffset At);

/// <summary>The <c>typing</c> notification.</summary>
public sealed record TypingNotification(string ContactId, string? Name, bool Typing);

/// <summary>
/// The <c>contact</c> notification: <c>requested</c>, <c>invited</c>, <c>accepted</c>, <c>declined</c>, <c>removed</c>, <c>blocked</c>
/// or <c>unblocked</c>, and <c>updated</c> (another of our devices invited, accepted, verified or set a timer; the others come
/// from another device too when it did them).
/// </summary>
public sealed record ContactNotification(string Change, string ContactId, string? Name);
