using System.CommandLine;
using Pigeon.Client.Cli;

namespace Pigeon.Client.Commands;

/// <summary><c>pigeon unblock &lt;id&gt;</c>: lets an account's envelopes in again (it is not made a contact).</summary>
public sealed class UnblockCommand : PigeonCommand
{
    private readonly Argument<string> _id = new("id") { Description = "The blocked account id" };

    /// <summary>Declares the command.</summary>
    public UnblockCommand(CliContext context, GlobalOptions globals)
        : base("unblock", "Unblock an account.", context, globals)
    {
        Arguments.Add(_id);
    }

    /// <inheritdoc/>
    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken ct)
    {
        using var session = OpenProfile(parseResult);
        var accountId = parseResult.GetRequiredValue(_id).Trim();
        await session.Contacts.UnblockAsync(accountId, ct);
        if (IsJson(parseResult))
        {
            WriteJson(new { unblocked = accountId });
        }
        else
        {
            Context.WriteLine($"Unblocked {accountId}. 'pigeon invite {accountId}' to talk again.");
        }
        return ExitCodes.Success;
    }
}
