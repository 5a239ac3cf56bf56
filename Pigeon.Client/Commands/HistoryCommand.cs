using System.CommandLine;
using Pigeon.Client.Cli;
using Pigeon.Messaging.Attachments;
using Pigeon.Messaging.Delivery;
using Pigeon.Messaging.Groups;
using Pigeon.Messaging.Profiles;
using Pigeon.Messaging.Store;

namespace Pigeon.Client.Commands;

/// <summary><c>pigeon history &lt;contact|group&gt; [--limit N]</c>: the conversation, oldest first, with direction and time.</summary>
public sealed class HistoryCommand : PigeonCommand
{
    private readonly Argument<string> _contact = new("contact") { Description = "The contact's name or account id, or the group's title or id prefix" };

    private readonly Option<int> _limit = new("--limit", "-n")
    {
        Description = "Show only the last N items",
        HelpName = "N",
        DefaultValueFactory = _ => 50,
    };

    /// <summary>Declares the command.</summary>
    public HistoryCommand(CliContext context, GlobalOptions globals)
        : base("history", "Show the conversation with a contact or in a group.", context, globals)
    {
        Arguments.Add(_contact);
        Options.Add(_limit);
        _limit.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 1)
            {
                result.AddError("--limit must be at least 1.");
            }
        });
    }

    /// <inheritdoc/>
    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken ct)
    {
        using var session = OpenProfile(parseResult);
        var conversation = await session.Groups.ResolveConversationAsync(parseResult.GetRequiredValue(_contact));
        if (conversation.Group is { } group)
        {
            return await GroupHistoryAsync(parseResult, session, group);
        }

        var (contact, messages) = await session.Contacts.HistoryAsync(conversation.Contact!.AccountId, parseResult.GetValue(_limit));
        if (IsJson(parseResult))
        {
            WriteJson(messages.Select(ToJson));
            return ExitCodes.Success;
        }
        if (messages.Count == 0)
        {
            Context.WriteLine($"No messages with {PeerText.Inline(contact.Label)} yet.");
        }
        if (contact.Timer is { } timer)
        {
            Context.WriteLine($"Disappearing messages: {DisappearingTimer.Format(timer)}.");
        }
        var me = session.Profile.DisplayName;
        var files = await FilesAsync(session);
        foreach (var m in messages)
        {
            var who = m.Direction == MessageDirection.Out ? $"out  {PeerText.Inline(me)}:" : $"in   {PeerText.Inline(contact.Label)}:";
            var status = m.State switch
            {
                "queued" => " (not sent yet)",
                "failed" => " (failed)",
                _ when m.Direction == MessageDirection.Out && m.Kind == MessageKind.Text => $" ({m.State})",
                _ => "",
            };
            var text = m.Kind switch
            {
                MessageKind.Request => "[contact request]" + (m.Body is { } note ? " " + PeerText.Block(note, "    ") : ""),
                MessageKind.Accepted => "[accepted]",
                MessageKind.Failed => "[a message that could not be decrypted]",
                MessageKind.Timer => m.Body == "off" ? "[disappearing messages off]" : $"[disappearing messages: {m.Body}]",
                MessageKind.DeviceAdded => $"[{PeerText.Inline(m.Body)}]",
                _ => Text(m, files),
            };
            Context.WriteLine($"{Time(m.SentAt ?? m.At, seconds: true)}  {who} {text}{status}");
        }
        return ExitCodes.Success;
    }

    // A group's history: each item names who wrote it; changes of the group are shown in brackets.
    private async Task<int> GroupHistoryAsync(ParseResult parseResult, ProfileSession session, GroupState group)
    {
        var (_, messages) = await session.Groups.HistoryAsync(group, parseResult.GetValue(_limit));
        if (IsJson(parseResult))
        {
            WriteJson(messages.Select(ToJson));
            return ExitCodes.Success;
        }

        if (messages.Count == 0)
        {
            Context.WriteLine($"No messages in {PeerText.Inline(group.Title)} yet.");
        }

        var names = (await session.Contacts.AllAsync()).ToDictionary(c => c.AccountId, c => c.Label);
        var files = await FilesAsync(session);
        foreach (var m in messages)
        {
            var who = m.Direction == MessageDirection.Out
                ? $"out  {PeerText.Inline(session.Profile.DisplayName)}:"
                : $"in   {PeerText.Inline(m.Author is { } author ? names.GetValueOrDefault(author, author) : "unknown")}:";
            var text = m.Kind switch
            {
                MessageKind.GroupChange or MessageKind.DeviceAdded => $"[{PeerText.Inline(m.Body)}]",
                MessageKind.Failed => "[a message that could not be decrypted]",
                _ => Text(m, files),
            };
            Context.WriteLine($"{Time(m.SentAt ?? m.At, seconds: true)}  {who} {text}{(m.State == "queued" ? " (not sent yet)" : "")}");
        }

        return ExitCodes.Success;
    }

    private static async Task<Dictionary<Guid, AttachmentItem>> FilesAsync(ProfileSession session) =>
        (await session.Attachments.ListAsync()).ToDictionary(item => item.Row.AttachmentId);

    // A text, with the file it carried (its name, size and the command that saves it) before its caption.
    private static string Text(MessageRow m, Dictionary<Guid, AttachmentItem> files) =>
        PeerText.Block(ReceivedEventWriter.Text(m.Body, m.AttachmentId is { } id && files.TryGetValue(id, out var file) ? file.Row.Pointer : null), "    ");

    // One item as --json gives it, for a contact's history and a group's alike (a group item names its author; nulls are left out).
    private static object ToJson(MessageRow m) => new
    {
        direction = m.Direction,
        kind = m.Kind,
        status = m.Status,
        state = m.State,
        messageId = m.MessageId,
        author = m.Author,
        body = PeerText.Json(m.Body),
        sentAt = m.SentAt,
        at = m.At,
        expiresAt = m.ExpiresAt,
        attachmentId = m.AttachmentId,
    };
}
