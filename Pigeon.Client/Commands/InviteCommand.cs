using System.CommandLine;
using Pigeon.Client.Cli;

namespace Pigeon.Client.Commands;

/// <summary>
/// <c>pigeon invite &lt;id&gt; [--message TEXT]</c>: fetches the account's prekey bundle, checks that its
/// keys hash to the id, starts a session and sends a contact request carrying your name.
/// </summary>
public sealed class InviteCommand : PigeonCommand
{
    private readonly Argument<string> _id = new("id") { Description = "Their account id (from their 'pigeon whoami')" };

    private readonly Option<string?> _message = new("--message", "-m") { Description = "A note to go with the request", HelpName = "TEXT" };

    /// <summary>Declares the command.</summary>
    public InviteCommand(CliContext context, GlobalOptions globals)
        : base("invite", "Ask someone to become a contact; the request carries your name.", context, globals)
    {
        Arguments.Add(_id);
        Options.Add(_message);
    }

    /// <inheritdoc/>
    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken ct)
    {
        var id = parseResult.GetRequiredValue(_id).Trim();
        using var session = OpenProfile(parseResult);
        var contact = await session.Contacts.InviteAsync(id, parseResult.GetValue(_message), ct);
        if (IsJson(parseResult))
        {
            WriteJson(new { invited = contact.AccountId, state = "invited" });
        }
        else
        {
            Context.WriteLine($"Invitation sent to {contact.AccountId}. You will see their name when they accept ('pigeon sync').");
        }
        return ExitCodes.Success;
    }
}
