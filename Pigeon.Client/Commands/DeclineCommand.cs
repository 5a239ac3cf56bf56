using System.CommandLine;
using Pigeon.Client.Cli;

namespace Pigeon.Client.Commands;

/// <summary><c>pigeon decline &lt;id&gt;</c>: discards a request and its session; the requester is not told.</summary>
public sealed class DeclineCommand : PigeonCommand
{
    private readonly Argument<string> _id = new("id") { Description = "The requester's account id (or name)" };

    /// <summary>Declares the command.</summary>
    public DeclineCommand(CliContext context, GlobalOptions globals)
        : base("decline", "Decline a contact request (nothing is sent).", context, globals)
    {
        Arguments.Add(_id);
    }

    /// <inheritdoc/>
    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken ct)
    {
        using var session = OpenProfile(parseResult);
        var request = await session.Contacts.DeclineAsync(parseResult.GetRequiredValue(_id).Trim(), ct);
        if (IsJson(parseResult))
        {
            WriteJson(new { declined = request.AccountId });
        }
        else
        {
            Context.WriteLine($"Declined the request from {PeerText.Inline(request.DisplayName)} ({request.AccountId}).");
        }
        return ExitCodes.Success;
    }
}
