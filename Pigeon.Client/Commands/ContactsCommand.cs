using System.CommandLine;
using Pigeon.Client.Cli;

namespace Pigeon.Client.Commands;

/// <summary><c>pigeon contacts</c>: name, id, state, verified, last message time.</summary>
public sealed class ContactsCommand : PigeonCommand
{
    /// <summary>Declares the command.</summary>
    public ContactsCommand(CliContext context, GlobalOptions globals)
        : base("contacts", "List your contacts.", context, globals)
    {
    }

    /// <inheritdoc/>
    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken ct)
    {
        using var messenger = OpenMessenger(parseResult);
        var contacts = await messenger.ContactsAsync();
        if (IsJson(parseResult))
        {
            WriteJson(contacts.Select(c => new
            {
                accountId = c.AccountId,
                name = c.DisplayName,
                state = c.State == Store.ContactState.Accepted ? "accepted" : "invited",
                verified = c.Verified,
                lastMessageAt = c.LastMessageAt,
            }));
        }
        else if (contacts.Count == 0)
        {
            Context.WriteLine("No contacts yet: 'pigeon invite <id>' adds one.");
        }
        else
        {
            WriteTable(["NAME", "ID", "STATE", "VERIFIED", "LAST MESSAGE"],
                contacts.Select(c => (IReadOnlyList<string>)[
                    c.DisplayName.Length > 0 ? Safe(c.DisplayName) : "(unknown)", c.AccountId,
                    c.State == Store.ContactState.Accepted ? "contact" : "invited", c.Verified ? "yes" : "no", Time(c.LastMessageAt)]));
        }
        return ExitCodes.Success;
    }
}
