using System.CommandLine;
using Pigeon.Client.Cli;

namespace Pigeon.Client.Commands;

/// <summary>
/// <c>pigeon send &lt;contact|group&gt; [text] [--file PATH]</c>: encrypts and sends a message to a
/// contact (by name or id) or a group (by title or id prefix); <c>-</c> as the text reads it from stdin.
/// With <c>--file</c> the file is encrypted with a fresh key and uploaded first (progress on stderr),
/// and the text is its caption. The message is committed locally before it is deposited; if the server
/// cannot be reached after that, the next send or sync delivers it (and finishes an upload cut off).
/// </summary>
public sealed class SendCommand : PigeonCommand
{
    private readonly Argument<string> _contact = new("contact") { Description = "The contact's name or account id, or the group's title or id prefix" };

    private readonly Argument<string?> _text = new("text") { Description = "The message (with --file, its caption), or - to read it from stdin", Arity = ArgumentArity.ZeroOrOne };

    private readonly Option<FileInfo?> _file = new("--file", "-f") { Description = "A file to send (encrypted; at most 100 MiB)", HelpName = "PATH" };

    /// <summary>Declares the command.</summary>
    public SendCommand(CliContext context, GlobalOptions globals)
        : base("send", "Send a message to a contact or a group.", context, globals)
    {
        Arguments.Add(_contact);
        Arguments.Add(_text);
        Options.Add(_file);
    }

    /// <inheritdoc/>
    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken ct)
    {
        var text = parseResult.GetValue(_text);
        var file = parseResult.GetValue(_file);
        if (text == "-")
        {
            text = (await Context.Input.ReadToEndAsync(ct)).TrimEnd('\r', '\n');
        }
        if (string.IsNullOrWhiteSpace(text))
        {
            text = file is null ? throw new CliException(ExitCodes.UsageError, "The message is empty.") : null;
        }
        using var session = OpenProfile(parseResult);
        var conversation = await session.Groups.ResolveConversationAsync(parseResult.GetRequiredValue(_contact));
        if (file is not null)
        {
            await ResumeUploadsAsync(session, ct);
            var fileMessageId = await TransferProgressView.RunAsync(Context, $"Uploading {PeerText.Inline(file.Name)}",
                progress => session.Attachments.SendAsync(conversation, file.FullName, text, progress, ct));
            var to = conversation.Group?.Title ?? conversation.Contact!.Label;
            if (IsJson(parseResult))
            {
                WriteJson(new { sent = conversation.Contact?.AccountId, sentToGroup = conversation.Group?.IdHex, messageId = fileMessageId, file = file.Name });
            }
            else
            {
                Context.WriteLine($"Sent {PeerText.Inline(file.Name)} to {PeerText.Inline(to)}.");
            }

            return ExitCodes.Success;
        }

        if (conversation.Group is { } group)
        {
            var groupMessageId = await session.Groups.SendAsync(group, text!, ct);
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
        var messageId = await session.Outbox.SendAsync(contact, text!, ct);
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
