using Pigeon.Client.Cli;
using Pigeon.Messaging.Attachments;
using Pigeon.Messaging.Delivery;
using Pigeon.Messaging.Devices;

namespace Pigeon.Client.Commands;

/// <summary>How <c>sync</c> and <c>chat</c> show what arrived.</summary>
internal static class ReceivedEventWriter
{
    /// <summary>One line per event, for people.</summary>
    public static string Describe(ReceivedEvent received, Func<DateTimeOffset?, string> time)
    {
        var who = PeerText.Inline(string.IsNullOrEmpty(received.ContactName) ? received.ContactId ?? "an unknown sender" : received.ContactName);
        return received.Kind switch
        {
            ReceivedKind.Text when received.GroupTitle is { } group => $"[{time(received.SentAt)}] {who} in {PeerText.Inline(group)}: {Text(received)}",
            ReceivedKind.Text => $"[{time(received.SentAt)}] {who}: {Text(received)}"
                + (received.OnEarlierSession ? " (arrived on an earlier session)" : ""),
            ReceivedKind.Request => $"Contact request from {who} ({received.ContactId})"
                + (received.Body is { } note ? $": {PeerText.Block(note, "    ")}" : "")
                + $". Answer with 'pigeon accept {received.ContactId}' or 'pigeon decline {received.ContactId}'.",
            ReceivedKind.Accepted => $"{who} ({received.ContactId}) accepted: you are now contacts.",
            ReceivedKind.Delivered => $"{who} received {Count(received)}.",
            ReceivedKind.Read => $"{who} read {Count(received)}.",
            ReceivedKind.Typing => received.IsTyping == true ? $"{who} is typing…" : $"{who} stopped typing.",
            ReceivedKind.Timer when received.Body == "off" => $"{who} turned disappearing messages off.",
            ReceivedKind.Timer => $"{who} set disappearing messages to {received.Body}: later messages are deleted on both sides after that time.",
            ReceivedKind.Sent => $"[{time(received.SentAt)}] sent from another of your devices to {PeerText.Inline(received.SentToName ?? received.GroupTitle ?? received.SentTo ?? received.GroupId ?? "")}: {Text(received)}",
            ReceivedKind.GroupUpdate => $"In {PeerText.Inline(received.GroupTitle)}: {PeerText.Inline(received.Body)}.",
            ReceivedKind.ContactSync => received.ContactChange switch
            {
                ContactChange.Saved => $"Another of your devices updated the contact {who}; this one has it the same now.",
                ContactChange.Declined => $"Another of your devices declined the request from {who}.",
                var change => $"Another of your devices {change.ToString()!.ToLowerInvariant()} {who}.",
            },
            _ => $"warning: a message from {who} {received.Error}; it was recorded locally and removed from the server.",
        };
    }

    /// <summary>The JSON shape of an event (peer-chosen text through <see cref="PeerText.Json"/>).</summary>
    public static object ToJson(ReceivedEvent received) => new
    {
        kind = received.Kind,
        messageId = received.MessageId,
        contactId = received.ContactId,
        name = PeerText.Json(received.ContactName),
        body = PeerText.Json(received.Body),
        sentAt = received.SentAt,
        receivedAt = received.ReceivedAt,
        error = received.Error,
        messageIds = received.MessageIds,
        typing = received.IsTyping,
        onEarlierSession = received.OnEarlierSession,
        groupId = received.GroupId,
        groupTitle = PeerText.Json(received.GroupTitle),
        attachment = received.Attachment is { } file
            ? new { id = file.AttachmentId, name = PeerText.Json(file.Name), contentType = PeerText.Json(file.ContentType), size = file.Size }
            : null,
    };

    /// <summary>
    /// A text as shown, before escaping: the file it carried, if any (its name, size and the command
    /// that saves it), then its body. Callers escape the whole with <see cref="PeerText"/>.
    /// </summary>
    public static string? Text(string? body, AttachmentPointer? file) => file is null
        ? body
        : $"[file {file.Name}, {Sizes.Format(file.Size)}: 'pigeon save {file.AttachmentId.ToString("N")[..8]}']" + (body is { Length: > 0 } caption ? " " + caption : "");

    private static string Text(ReceivedEvent received) => PeerText.Block(Text(received.Body, received.Attachment), "    ");

    private static string Count(ReceivedEvent received) =>
        received.MessageIds?.Count == 1 ? "your message" : $"{received.MessageIds?.Count ?? 0} of your messages";
}
