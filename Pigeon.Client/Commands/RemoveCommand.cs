using System.CommandLine;
using Pigeon.Client.Cli;

namespace Pigeon.Client.Commands;

/// <summary>
/// <c>pigeon remove &lt;contact&gt;</c>: forgets a contact with its sessions and history, and rotates
/// the delivery key so it can no longer deposit to us without identifying itself.
/// </summary>
public sealed class RemoveCommand : PigeonCommand
{
    private readonly Argument<string> _contact = new("contact") { Description = "The contact's name or account id" };

    /// <summary>Declares the command.</summary>
    public RemoveCommand(CliContext context, GlobalOptions globals)
        : base("remove", "Remove a contact, its sessions and history (it is not told).", context, globals)
    {
        Arguments.Add(_contact);
    }

    /// <inheritdoc/>
    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken ct)
    {
        using var session = OpenProfile(parseResult);
        var contact = await session.Contacts.RemoveAsync(parseResult.GetRequiredValue(_contact).Trim(), ct);
        if (IsJson(parseResult))
        {
            WriteJson(new { removed = contact.AccountId });
        }
        else
        {
            Context.WriteLine($"Removed {Safe(contact.Label)} ({contact.AccountId}). Your delivery key was rotated and sent to your other contacts.");
        }
        return ExitCodes.Success;
    }
}
