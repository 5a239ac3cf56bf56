using System.CommandLine;
using Pigeon.Api;
using Pigeon.Client.Chat;
using Pigeon.Client.Cli;
using Pigeon.Messaging.Delivery;
using Pigeon.Messaging.Groups;
using Pigeon.Messaging.Profiles;

namespace Pigeon.Client.Commands;

/// <summary>
/// <c>pigeon chat [contact|group]</c>: on a terminal, the full-screen chat (<see cref="ChatScreen"/>: every
/// conversation, unread counts, times, sent state, an input line nothing disturbs). Without one (stdin
/// or stdout redirected), or with <c>--line</c>, line mode: a background loop long-polls and prints
/// what arrives; each line entered is sent. Each poll acknowledges what the previous one brought and
/// was stored. Ctrl-C or end of input leaves, after the receive loop has acknowledged the rest of what
/// it stored.
/// </summary>
public sealed class ChatCommand : PigeonCommand
{
    private readonly Argument<string?> _contact = new("contact")
    {
        Description = "A contact (name or account id) or a group (title or id prefix); the full-screen chat opens the first conversation without it",
        Arity = ArgumentArity.ZeroOrOne,
    };

    private readonly Option<bool> _line = new("--line") { Description = "Line mode even on a terminal (what arrives is printed, each line typed is sent)" };

    private readonly Option<int> _poll = new("--poll")
    {
        Description = $"Seconds each receive waits on the server (1-{ApiLimits.MaxWaitSeconds})",
        HelpName = "SECONDS",
        DefaultValueFactory = _ => ApiLimits.MaxWaitSeconds,
    };

    /// <summary>Declares the command.</summary>
    public ChatCommand(CliContext context, GlobalOptions globals)
        : base("chat", "Chat: full screen on a terminal (Tab switches, Esc or Ctrl-C leaves), else line by line.", context, globals)
    {
        Arguments.Add(_contact);
        Options.Add(_poll);
        Options.Add(_line);
    }

    /// <inheritdoc/>
    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken ct)
    {
        using var session = OpenProfile(parseResult);
        var json = IsJson(parseResult);
        var poll = TimeSpan.FromSeconds(Math.Clamp(parseResult.GetValue(_poll), 1, ApiLimits.MaxWaitSeconds));
        if (Context.IsTerminal && !json && !parseResult.GetValue(_line))
        {
            await session.Outbox.DeliverAsync(ct);
            return await new ChatScreen(session, Context).RunAsync(parseResult.GetValue(_contact), (onReceived, leave) => ReceiveLoopAsync(session, poll, onReceived, leave), ct);
        }
        var conversation = await session.Groups.ResolveConversationAsync(parseResult.GetValue(_contact)
            ?? throw new CliException(ExitCodes.UsageError, "Name the contact or group to chat with: pigeon chat <contact|group> (the full-screen chat needs a terminal)."));
        await session.Outbox.DeliverAsync(ct);
        if (!json)
        {
            Context.WriteLine(conversation.Contact is { } named
                ? $"Chatting with {PeerText.Inline(named.Label)} ({named.AccountId}). Type a message and Enter; Ctrl-C to leave."
                : $"Chatting in {PeerText.Inline(conversation.Group!.Title)} ({conversation.Group.Members.Count} members). Type a message and Enter; Ctrl-C to leave.");
        }
        using var leave = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var receiving = ReceiveLoopAsync(session, poll, received => Print(received, conversation, json), leave.Token);
        try
        {
            while (true)
            {
                var read = Context.Input.ReadLineAsync(leave.Token).AsTask();
                // A console read may not observe the token: stop waiting for it on Ctrl-C or a receive failure.
                var finished = await Task.WhenAny(read, receiving);
                if (finished == receiving || await read is not { } line)
                {
                    break;
                }
                if (string.IsNullOrWhiteSpace(line))
                {
                    continue;
                }
                if (ChatInput.AttachedPath(line) is { } path)
                {
                    await AttachAsync(session, conversation, path, json, leave.Token);
                    continue;
                }
                var messageId = conversation.Contact is { } contact
                    ? await session.Outbox.SendAsync(contact, line, leave.Token)
                    : await session.Groups.SendAsync(conversation.Group!, line, leave.Token);
                if (json)
                {
                    WriteJson(new { kind = "sent", messageId, contactId = conversation.Contact?.AccountId, groupId = conversation.Group?.IdHex, body = line });
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Ctrl-C: leave cleanly below.
        }
        finally
        {
            // Whatever ended the chat, the receive loop stops before the profile is closed.
            await leave.CancelAsync();
            await receiving;
        }
        if (!json)
        {
            Context.WriteLine("Left the chat.");
        }
        return await receiving;
    }

    // Line mode's /attach: the file goes before the next line is read; a file that cannot go says why and the chat goes on.
    private async Task AttachAsync(ProfileSession session, Conversation conversation, string path, bool json, CancellationToken ct)
    {
        try
        {
            var messageId = await session.Attachments.SendAsync(conversation, path, null, null, ct);
            if (json)
            {
                WriteJson(new { kind = "sent", messageId, contactId = conversation.Contact?.AccountId, groupId = conversation.Group?.IdHex, file = Path.GetFileName(path) });
            }
            else
            {
                Context.WriteLine($"Sent {PeerText.Inline(Path.GetFileName(path))}.");
            }
        }
        catch (Exception exception) when (exception is not OperationCanceledException && AsCliException(exception) is { } failure)
        {
            Context.WriteError("pigeon: " + failure.Message);
        }
    }

    // The open conversation's texts as "name: text"; everything else as sync describes it.
    private void Print(ReceivedEvent received, Conversation conversation, bool json)
    {
        var inOpen = conversation.Contact is { } contact
            ? received.GroupId is null && received.ContactId == contact.AccountId
            : received.GroupId == conversation.Group!.IdHex;
        if (json)
        {
            WriteJson(ReceivedEventWriter.ToJson(received));
        }
        else if (received.Kind == ReceivedKind.Text && inOpen)
        {
            Context.WriteLine($"{PeerText.Inline(received.ContactName)}: {PeerText.Block(ReceivedEventWriter.Text(received.Body, received.Attachment), "    ")}");
        }
        else if (received.Kind != ReceivedKind.Typing)
        {
            Context.WriteLine(ReceivedEventWriter.Describe(received, t => Time(t)));
        }
    }

    // The receive loop of both modes: polls until cancelled, hands each event over, and acknowledges
    // what it stored before it ends.
    private async Task<int> ReceiveLoopAsync(ProfileSession session, TimeSpan poll, Action<ReceivedEvent> onReceived, CancellationToken ct)
    {
        long after = 0;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var result = await session.Inbox.PollAsync(after, poll, ct);
                after = result.LastSequence;
                foreach (var received in result.Events)
                {
                    onReceived(received);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Leaving.
        }
        catch (Exception exception) when (AsCliException(exception) is { } failure)
        {
            Context.WriteError($"pigeon: receiving stopped: {failure.Message}");
            return failure.ExitCode;
        }
        try
        {
            // The last batch was stored but no poll has carried its acknowledgement.
            await session.Inbox.AcknowledgeBeforeLeavingAsync();
        }
        catch (Exception exception) when (AsCliException(exception) is { } failure)
        {
            Context.WriteError($"pigeon: {failure.Message}");
            return failure.ExitCode;
        }
        return ExitCodes.Success;
    }
}
