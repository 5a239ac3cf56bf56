using Pigeon.Client.Cli;
using Pigeon.Messaging.Delivery;

namespace Pigeon.Client.Commands;

/// <summary>How <c>sync</c> and <c>chat</c> show what arrived.</summary>
internal static class ReceivedEventWriter
{
    /// <summary>One line per event, for people.</summary>
    public static string Describe(ReceivedEvent received, Func<DateTimeOffset?, string> time)
    {
        var who = PigeonCommand.Safe(string.IsNullOrEmpty(received.ContactName) ? received.ContactId ?? "an unknown sender" : received.ContactName);
        return received.Kind switch
        {
            ReceivedKind.Text => $"[{time(received.SentAt)}] {who}: {PigeonCommand.Safe(received.Body)}"
                + (received.OnEarlierSession ? " (arrived on an earlier session)" : ""),
            ReceivedKind.Request => $"Contact request from {who} ({received.ContactId})"
                + (received.Body is { } note ? $": {PigeonCommand.Safe(note)}" : "")
                + $". Answer with 'pigeon accept {received.ContactId}' or 'pigeon decline {received.ContactId}'.",
            ReceivedKind.Accepted => $"{who} ({received.ContactId}) accepted: you are now contacts.",
            ReceivedKind.Timer when received.Body == "off" => $"{who} turned disappearing messages off.",
            ReceivedKind.Timer => $"{who} set disappearing messages to {received.Body}: later messages are deleted on both sides after that time.",
            _ => $"warning: a message from {who} {received.Error}; it was recorded locally and removed from the server.",
        };
    }

    /// <summary>The JSON shape of an event.</summary>
    public static object ToJson(ReceivedEvent received) => new
    {
        kind = received.Kind,
        messageId = received.MessageId,
        contactId = received.ContactId,
        name = received.ContactName,
        body = received.Body,
        sentAt = received.SentAt,
        receivedAt = received.ReceivedAt,
        error = received.Error,
        onEarlierSession = received.OnEarlierSession,
    };
}
