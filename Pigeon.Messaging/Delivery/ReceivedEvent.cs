namespace Pigeon.Messaging.Delivery;

/// <summary>What happened to one received envelope.</summary>
public enum ReceivedKind
{
    /// <summary>A text from a contact (or from someone whose request is pending).</summary>
    Text,

    /// <summary>Someone asks to become a contact.</summary>
    Request,

    /// <summary>Someone we invited accepted.</summary>
    Accepted,

    /// <summary>A contact set the conversation's disappearing-message timer (the body is its new value: <c>1h</c>, <c>off</c>, …).</summary>
    Timer,

    /// <summary>The envelope could not be decrypted or understood; it was recorded and acknowledged.</summary>
    Failed,

    /// <summary>A contact's device has our messages <see cref="ReceivedEvent.MessageIds"/>.</summary>
    Delivered,

    /// <summary>A contact has read our messages <see cref="ReceivedEvent.MessageIds"/>.</summary>
    Read,

    /// <summary>A contact started or stopped typing (<see cref="ReceivedEvent.IsTyping"/>); nothing is stored.</summary>
    Typing,

    /// <summary>A group was created, changed or left (<see cref="ReceivedEvent.GroupId"/>; the body says how).</summary>
    GroupUpdate,

    /// <summary>Another of our own devices sent a text (to <see cref="ReceivedEvent.SentTo"/>, or in the group <see cref="ReceivedEvent.GroupId"/>); it is in the history as sent.</summary>
    Sent,

    /// <summary>
    /// Another of our own devices changed a contact (<see cref="ReceivedEvent.ContactChange"/> says how;
    /// <see cref="ReceivedEvent.ContactName"/> is its name when it was saved); applied here too.
    /// </summary>
    ContactSync,
}

/// <summary>
/// One received item, as a receive loop reports it. A receipt names the messages of ours it is about in
/// <paramref name="MessageIds"/> (only those we sent to that contact); a typing indicator says
/// <paramref name="IsTyping"/>.
/// </summary>
public sealed record ReceivedEvent(
    ReceivedKind Kind, Guid MessageId, string? ContactId, string? ContactName, string? Body, DateTimeOffset? SentAt, DateTimeOffset ReceivedAt,
    string? Error = null, IReadOnlyList<Guid>? MessageIds = null, bool? IsTyping = null)
{
    /// <summary>
    /// The message arrived on an earlier session of the contact's (Sesame's archive), not the current
    /// one: late, or sent before the contact saw a newer session. It is genuine; the reader may want to know.
    /// </summary>
    public bool OnEarlierSession { get; init; }

    /// <summary>For a group text or update: the group's id (hex); null for a pairwise item.</summary>
    public string? GroupId { get; init; }

    /// <summary>For a group text or update: the group's title.</summary>
    public string? GroupTitle { get; init; }

    /// <summary>For a text that carries a file: its pointer (kept sealed; <see cref="Attachments.AttachmentBook"/> fetches and saves it).</summary>
    public Attachments.AttachmentPointer? Attachment { get; init; }

    /// <summary>For <see cref="ReceivedKind.Sent"/>: the contact our other device wrote to (null for a group).</summary>
    public string? SentTo { get; init; }

    /// <summary>For <see cref="ReceivedKind.Sent"/> to a contact: the contact's name here.</summary>
    public string? SentToName { get; init; }

    /// <summary>For <see cref="ReceivedKind.ContactSync"/>: what our other device did with the contact.</summary>
    public Devices.ContactChange? ContactChange { get; init; }
}

/// <summary>What one <see cref="Inbox.PollAsync"/> brought.</summary>
/// <param name="Events">What arrived, in order; redeliveries of what was already stored are left out.</param>
/// <param name="Duplicates">How many envelopes were redeliveries.</param>
/// <param name="LastSequence">The cursor for the next poll.</param>
/// <param name="HasMore">True when the server holds more right away.</param>
public sealed record PollResult(IReadOnlyList<ReceivedEvent> Events, int Duplicates, long LastSequence, bool HasMore);
