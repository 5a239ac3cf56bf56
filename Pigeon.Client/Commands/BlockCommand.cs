using System.CommandLine;
using Pigeon.Client.Cli;

namespace Pigeon.Client.Commands;

/// <summary>
/// <c>pigeon block &lt;contact|request|id&gt;</c>: removes what is kept under the account (as
/// <c>remove</c>) and drops its envelopes from then on, unread and unanswered.
/// </summary>
public sealed class BlockCommand : PigeonCommand
{
    private readonly Argument<string> _who = new("who") { Description = "A contact's or requester's name, or any account id" };

    /// <summary>Declares the command.</summary>
    public BlockCommand(CliContext context, GlobalOptions globals)
        : base("block", "Block an account: remove it and drop everything it sends from now on.", context, globals)
    {
        Arguments.Add(_who);
    }

    /// <inheritdoc/>
    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken ct)
    {
        using var session = OpenProfile(parseResult);
        var (accountId, name) = await session.Contacts.BlockAsync(parseResult.GetRequiredValue(_who).Trim(), ct);
        if (IsJson(parseResult))
        {
            WriteJson(new { blocked = accountId });
        }
        else
        {
            Context.WriteLine($"Blocked {(string.IsNullOrEmpty(name) ? accountId : $"{Safe(name)} ({accountId})")}: what it sends is dropped unread.");
        }
        return ExitCodes.Success;
    }
}
