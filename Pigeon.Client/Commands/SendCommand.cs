using System.CommandLine;
using Pigeon.Client.Cli;

namespace Pigeon.Client.Commands;

/// <summary>
/// <c>pigeon send &lt;contact&gt; &lt;text&gt;</c>: encrypts and sends a message to a contact named by
/// name or id; <c>-</c> as the text reads it from stdin. The message is committed locally before it is
/// deposited; if the server cannot be reached after that, the next send or sync delivers it.
/// </summary>
public sealed class SendCommand : PigeonCommand
{
    private readonly Argument<string> _contact = new("contact") { Description = "The contact's name or account id, or the group's title or id prefix" };

    private readonly Argument<string> _text = new("text") { Description = "The message, or - to read it from stdin" };

    /// <summary>Declares the command.</summary>
    public SendCommand(CliContext context, GlobalOptions globals)
        : base("send", "Send a message to a contact or a group.", context, globals)
    {
        Arguments.Add(_contact);
        Arguments.Add(_text);
    }

    /// <inheritdoc/>
    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken ct)
    {
        var text = parseResult.GetRequiredValue(_text);
        if (text == "-")
        {
            text = (await Context.Input.ReadToEndAsync(ct)).TrimEnd('\r', '\n');
        }
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new CliException(ExitCodes.UsageError, "The message is empty.");
        }
        using var session = OpenProfile(parseResult);
        var conversation = await session.Groups.ResolveConversationAsync(parseResult.GetRequiredValue(_contact));
        if (conversation.Group is { } group)
        {
            var groupMessageId = await session.Groups.SendAsync(group, text, ct);
            if (IsJson(parseResult))
            {
                WriteJson(new { sentToGroup = group.IdHex, messageId = groupMessageId });
            }
            else
            {
                Context.WriteLine($"Sent to {PeerText.Inline(group.Title)} ({group.Members.Count - 1} others).");
            }

            return ExitCodes.Success;
        }

        var contact = conversation.Contact!;
        var messageId = await session.Outbox.SendAsync(contact, text, ct);
        if (IsJson(parseResult))
        {
            WriteJson(new { sent = contact.AccountId, messageId });
        }
        else
        {
            Context.WriteLine($"Sent to {PeerText.Inline(contact.Label)}.");
        }
        return ExitCodes.Success;
    }
}
