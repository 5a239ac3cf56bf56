using System.CommandLine;
using Pigeon.Client.Cli;

namespace Pigeon.Client.Commands.Attachments;

/// <summary>
/// <c>pigeon save ID [PATH] [--force]</c>: decrypts a received file (named by any unique prefix of its
/// id) to PATH, or into a folder PATH, or into the current folder, under the sender's name only when
/// that name is safe (no path separators, no <c>..</c>, no control characters, no reserved names). It is
/// downloaded first when it is not here yet, continuing a download cut off; its digest is checked
/// before a byte is written. An existing file is replaced only with <c>--force</c>.
/// </summary>
public sealed class SaveCommand : PigeonCommand
{
    private readonly Argument<string> _id = new("id") { Description = "The file's id, or the start of it ('pigeon attachments' lists them)" };

    private readonly Argument<string?> _path = new("path") { Description = "Where to write it: a file, or a folder (default: the current folder)", Arity = ArgumentArity.ZeroOrOne };

    private readonly Option<bool> _force = new("--force") { Description = "Replace the file at PATH if there is one" };

    /// <summary>Declares the command.</summary>
    public SaveCommand(CliContext context, GlobalOptions globals)
        : base("save", "Save a file you received.", context, globals)
    {
        Arguments.Add(_id);
        Arguments.Add(_path);
        Options.Add(_force);
    }

    /// <inheritdoc/>
    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken ct)
    {
        using var session = OpenProfile(parseResult);
        var item = await session.Attachments.ResolveAsync(parseResult.GetRequiredValue(_id));
        var saved = await TransferProgressView.RunAsync(Context, $"Downloading {PeerText.Inline(item.Row.Pointer.Name)}",
            progress => session.Attachments.SaveAsync(item.Row.AttachmentId.ToString("N"), parseResult.GetValue(_path), parseResult.GetValue(_force), progress, ct));
        if (IsJson(parseResult))
        {
            WriteJson(new { saved, id = item.Row.AttachmentId, size = item.Row.Pointer.Size });
        }
        else
        {
            Context.WriteLine($"Saved {PeerText.Inline(Path.GetFileName(saved))} to {saved}.");
        }

        return ExitCodes.Success;
    }
}
