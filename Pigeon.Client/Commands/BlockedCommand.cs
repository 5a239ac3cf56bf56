using System.CommandLine;
using Pigeon.Client.Cli;

namespace Pigeon.Client.Commands;

/// <summary><c>pigeon blocked</c>: the blocked accounts and since when.</summary>
public sealed class BlockedCommand : PigeonCommand
{
    /// <summary>Declares the command.</summary>
    public BlockedCommand(CliContext context, GlobalOptions globals)
        : base("blocked", "List blocked accounts.", context, globals)
    {
    }

    /// <inheritdoc/>
    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken ct)
    {
        using var session = OpenProfile(parseResult);
        var blocked = await session.Contacts.BlockedAsync();
        if (IsJson(parseResult))
        {
            WriteJson(blocked.Select(b => new { accountId = b.AccountId, blockedAt = b.BlockedAt }));
        }
        else if (blocked.Count == 0)
        {
            Context.WriteLine("Nobody is blocked.");
        }
        else
        {
            WriteTable(["ID", "BLOCKED"], blocked.Select(b => (IReadOnlyList<string>)[b.AccountId, Time(b.BlockedAt)]));
        }
        return ExitCodes.Success;
    }
}
