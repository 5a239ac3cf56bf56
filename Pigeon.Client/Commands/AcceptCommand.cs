using System.CommandLine;
using Pigeon.Client.Cli;

namespace Pigeon.Client.Commands;

/// <summary><c>pigeon accept &lt;id&gt;</c>: accepts a request; the inviter is told, and learns your name.</summary>
public sealed class AcceptCommand : PigeonCommand
{
    private readonly Argument<string> _id = new("id") { Description = "The requester's account id (or name)" };

    /// <summary>Declares the command.</summary>
    public AcceptCommand(CliContext context, GlobalOptions globals)
        : base("accept", "Accept a contact request.", context, globals)
    {
        Arguments.Add(_id);
    }

    /// <inheritdoc/>
    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken ct)
    {
        using var session = OpenProfile(parseResult);
        var contact = await session.Contacts.AcceptAsync(parseResult.GetRequiredValue(_id).Trim(), ct);
        if (IsJson(parseResult))
        {
            WriteJson(new { accepted = contact.AccountId, name = PeerText.Json(contact.DisplayName) });
        }
        else
        {
            Context.WriteLine($"{PeerText.Inline(contact.Label)} is now a contact. Compare safety numbers with 'pigeon verify {contact.AccountId}'.");
        }
        return ExitCodes.Success;
    }
}
