using System.CommandLine;
using Pigeon.Client.Cli;
using Pigeon.Messaging.Attachments;

namespace Pigeon.Client.Commands.Attachments;

/// <summary>
/// <c>pigeon attachments</c>: the files messages carried, received and sent, newest first: id prefix,
/// who sent it, the conversation, the sender's name for it, its size and where it stands
/// (<c>offered</c>, <c>downloaded</c>, <c>saved</c>, <c>failed</c>, <c>expired</c>, <c>sent</c>), and the
/// uploads not sent yet.
/// </summary>
public sealed class AttachmentsCommand : PigeonCommand
{
    /// <summary>Declares the command.</summary>
    public AttachmentsCommand(CliContext context, GlobalOptions globals)
        : base("attachments", "List the files you received and sent.", context, globals)
    {
    }

    /// <summary>The JSON shape of a file (peer-chosen text through <see cref="PeerText.Json"/>).</summary>
    internal static object ToJson(AttachmentItem item) => new
    {
        id = item.Row.AttachmentId,
        direction = item.Row.Direction,
        from = item.Row.Author,
        fromName = PeerText.Json(item.AuthorLabel),
        conversation = PeerText.Json(item.ConversationLabel),
        name = PeerText.Json(item.Row.Pointer.Name),
        contentType = PeerText.Json(item.Row.Pointer.ContentType),
        size = item.Row.Pointer.Size,
        state = item.State,
        at = item.Row.At,
        expiresAt = item.Row.Pointer.ExpiresAt,
        savedTo = item.Row.SavedTo,
        error = item.Row.Error,
    };

    /// <inheritdoc/>
    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken ct)
    {
        using var session = OpenProfile(parseResult);
        var items = await session.Attachments.ListAsync();
        var pending = await session.Attachments.PendingUploadsAsync();
        if (IsJson(parseResult))
        {
            WriteJson(new
            {
                attachments = items.Select(ToJson),
                uploading = pending.Select(u => new { id = u.Pointer.AttachmentId, name = u.Pointer.Name, size = u.Pointer.Size, since = u.At }),
            });
            return ExitCodes.Success;
        }

        if (items.Count == 0 && pending.Count == 0)
        {
            Context.WriteLine("No files yet: 'pigeon send CONTACT --file PATH' sends one.");
            return ExitCodes.Success;
        }

        WriteTable(["ID", "FROM", "IN", "NAME", "SIZE", "STATE", "AT"], items.Select(item => (IReadOnlyList<string>)
        [
            item.ShortId,
            item.Row.Direction == Messaging.Store.MessageDirection.Out ? "you" : PeerText.Inline(item.AuthorLabel),
            PeerText.Inline(item.ConversationLabel),
            PeerText.Inline(item.Row.Pointer.Name),
            Sizes.Format(item.Row.Pointer.Size),
            item.State,
            Time(item.Row.At),
        ]));
        foreach (var upload in pending)
        {
            Context.WriteLine($"Not sent yet: {PeerText.Inline(upload.Pointer.Name)} ({Sizes.Format(upload.Pointer.Size)}); 'pigeon sync' finishes it.");
        }

        return ExitCodes.Success;
    }
}
