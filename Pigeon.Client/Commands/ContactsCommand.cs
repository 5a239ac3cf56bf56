using System.CommandLine;
using Pigeon.Client.Cli;
using Pigeon.Messaging.Store;

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
        using var session = OpenProfile(parseResult);
        var contacts = await session.Contacts.AllAsync();
        if (IsJson(parseResult))
        {
            WriteJson(contacts.Select(c => new
            {
                accountId = c.AccountId,
                name = PeerText.Json(c.DisplayName),
                state = c.State == ContactState.Accepted ? "accepted" : "invited",
                verified = c.Verified,
                timerSeconds = (long?)c.Timer?.TotalSeconds,
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
                    c.DisplayName.Length > 0 ? PeerText.Inline(c.DisplayName) : "(unknown)", c.AccountId,
                    c.State == ContactState.Accepted ? "contact" : "invited", c.Verified ? "yes" : "no", Time(c.LastMessageAt)]));
        }
        return ExitCodes.Success;
    }
}
