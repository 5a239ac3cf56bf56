using Pigeon.Protocol.Identity;

namespace Pigeon.Messaging.Store;

/// <summary>The local identity's public facts (the private ones stay sealed in the store).</summary>
public sealed record ProfileRow(
    string AccountId, string Server, string DisplayName, PublicIdentity PublicIdentity,
    DateTimeOffset CreatedAt, DateTimeOffset SignedPrekeyRotatedAt, bool IsEncrypted, uint DeviceId = 1);

/// <summary>Where a contact stands: invited by us and waiting, or accepted by both.</summary>
public enum ContactState
{
    Invited,
    Accepted,
}

/// <summary>
/// A contact: someone we invited or whose request we accepted. <c>Timer</c> is the conversation's
/// disappearing-message timer (how long a message is kept after it was sent or received), null for off.
/// </summary>
public sealed record ContactRow(
    string AccountId, string DisplayName, PublicIdentity PublicIdentity, ContactState State,
    bool Verified, DateTimeOffset CreatedAt, DateTimeOffset? LastMessageAt, TimeSpan? Timer = null)
{
    /// <summary>The name to show: the display name, or the id while the name is unknown.</summary>
    public string Label => string.IsNullOrEmpty(DisplayName) ? AccountId : DisplayName;
}

/// <summary>An incoming contact request not yet accepted or declined.</summary>
public sealed record RequestRow(string AccountId, string DisplayName, PublicIdentity PublicIdentity, string? Message, DateTimeOffset ReceivedAt);

/// <summary>
/// One line of history. <c>ExpiresAt</c> is when it disappears (by the conversation's timer then), null
/// for never; <paramref name="DeliveredAt"/> and <paramref name="ReadAt"/> come from receipts (ours:
/// when we read it).
/// </summary>
public sealed record MessageRow(
    long Id, string ContactId, MessageDirection Direction, MessageKind Kind, MessageStatus Status,
    Guid MessageId, string? Body, DateTimeOffset? SentAt, DateTimeOffset At, DateTimeOffset? ExpiresAt = null,
    DateTimeOffset? DeliveredAt = null, DateTimeOffset? ReadAt = null, string? Author = null, Guid? AttachmentId = null)
{
    /// <summary>
    /// Where the item stands, as shown: an outgoing one is <c>queued</c>, <c>sent</c>, <c>delivered</c>
    /// or <c>read</c> (<c>failed</c>); an incoming one <c>received</c> or <c>read</c>.
    /// </summary>
    public string State => Status switch
    {
        MessageStatus.Failed => "failed",
        MessageStatus.Queued => "queued",
        _ when ReadAt is not null => "read",
        _ when DeliveredAt is not null && Direction == MessageDirection.Out => "delivered",
        _ => Status.ToString().ToLowerInvariant(),
    };
}

/// <summary>Who wrote a history item.</summary>
public enum MessageDirection
{
    In,
    Out,
}

/// <summary>What a history item is.</summary>
public enum MessageKind
{
    Text,
    Request,
    Accepted,
    Failed,

    /// <summary>A change of the conversation's disappearing-message timer; the body is its new value (<c>1h</c>, <c>off</c>, …).</summary>
    Timer,

    /// <summary>A change of a group (created, members, title, left); the body says what changed.</summary>
    GroupChange,

    /// <summary>The contact's signed device list gained a device; the body says when it was added.</summary>
    DeviceAdded,
}

/// <summary>Where a history item is in its delivery.</summary>
public enum MessageStatus
{
    Received,
    Queued,
    Sent,
    Failed,
}

/// <summary>
/// A ciphertext committed locally and not yet accepted by the server; <c>ExpiresAt</c> is when its
/// message disappears (the conversation's timer), which the deposit asks the server to keep it no longer than.
/// </summary>
/// <param name="MessageId">The envelope's id (the same for every device of one recipient account).</param>
/// <param name="Recipient">The recipient account.</param>
/// <param name="Payload">The sealed envelope for <paramref name="DeviceId"/>.</param>
/// <param name="ExpiresAt">When it is no longer worth delivering (a disappearing message).</param>
/// <param name="DeviceId">The recipient's device.</param>
/// <param name="Inner">
/// The inner message, kept (sealed at rest like every row) until the envelope is deposited, so that a
/// device the server says we missed gets the same message in a session of its own.
/// </param>
public sealed record OutboxRow(Guid MessageId, string Recipient, byte[] Payload, DateTimeOffset? ExpiresAt = null, uint DeviceId = 1, byte[]? Inner = null)
{
    /// <summary>The recipient device's address.</summary>
    public Protocol.Envelope.DeviceAddress Address => new(Recipient, DeviceId);
}

/// <summary>Where a file a message carried stands here.</summary>
public enum AttachmentState
{
    /// <summary>Received: only the pointer is here; the file is on the server until it expires.</summary>
    Offered,

    /// <summary>Its ciphertext is downloaded into the profile (still encrypted): saving it needs no server.</summary>
    Fetched,

    /// <summary>Decrypted and written to <see cref="AttachmentRow.SavedTo"/>.</summary>
    Saved,

    /// <summary>The download failed for good (<see cref="AttachmentRow.Error"/>: a digest that does not match, or the server no longer has it).</summary>
    Failed,

    /// <summary>Ours: uploaded and sent.</summary>
    Sent,
}

/// <summary>
/// A file a message carried, sent or received: the pointer (sealed at rest, like everything in the
/// profile), the message and conversation it belongs to, who sent it and where it stands.
/// </summary>
/// <param name="Pointer">What the message carried (id, capability, key, digest, size, name, type).</param>
/// <param name="MessageId">The history item it came with.</param>
/// <param name="Conversation">A contact's account id, or a group's conversation key.</param>
/// <param name="Direction">Sent or received.</param>
/// <param name="Author">Who sent it (an account id; ours for a sent one).</param>
/// <param name="AuthorName">What they called themselves when they sent it.</param>
/// <param name="State">Where it stands.</param>
/// <param name="At">When it was sent or received.</param>
/// <param name="SavedTo">Where it was last saved.</param>
/// <param name="Error">Why its download failed.</param>
public sealed record AttachmentRow(
    Attachments.AttachmentPointer Pointer, Guid MessageId, string Conversation, MessageDirection Direction, string? Author, string? AuthorName,
    AttachmentState State, DateTimeOffset At, string? SavedTo = null, string? Error = null)
{
    /// <summary>The attachment's id.</summary>
    public Guid AttachmentId => Pointer.AttachmentId;
}

/// <summary>
/// An upload begun and not yet sent: its pointer, the conversation and caption its message will have,
/// and the encrypted file (in the profile's <c>transfers</c> folder) that is uploaded from.
/// </summary>
/// <param name="Pointer">What the message will carry.</param>
/// <param name="Conversation">A contact's account id, or a group's conversation key.</param>
/// <param name="CiphertextFile">The encrypted file's name in the transfers folder.</param>
/// <param name="Caption">The text the message will have, if any.</param>
/// <param name="At">When the upload began.</param>
public sealed record UploadRow(Attachments.AttachmentPointer Pointer, string Conversation, string CiphertextFile, string? Caption, DateTimeOffset At);

/// <summary>An account whose envelopes are dropped unread.</summary>
public sealed record BlockedRow(string AccountId, DateTimeOffset BlockedAt);
