using Pigeon.Protocol.Identity;

namespace Pigeon.Messaging.Store;

/// <summary>The local identity's public facts (the private ones stay sealed in the store).</summary>
public sealed record ProfileRow(
    string AccountId, string Server, string DisplayName, PublicIdentity PublicIdentity,
    DateTimeOffset CreatedAt, DateTimeOffset SignedPrekeyRotatedAt, bool IsEncrypted);

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
    DateTimeOffset? DeliveredAt = null, DateTimeOffset? ReadAt = null, string? Author = null)
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
public sealed record OutboxRow(Guid MessageId, string Recipient, byte[] Payload, DateTimeOffset? ExpiresAt = null);

/// <summary>An account whose envelopes are dropped unread.</summary>
public sealed record BlockedRow(string AccountId, DateTimeOffset BlockedAt);
