using System.CommandLine;
using Pigeon.Client.Cli;

namespace Pigeon.Client.Commands;

/// <summary><c>pigeon requests</c>: the contact requests received and not yet answered.</summary>
public sealed class RequestsCommand : PigeonCommand
{
    /// <summary>Declares the command.</summary>
    public RequestsCommand(CliContext context, GlobalOptions globals)
        : base("requests", "List incoming contact requests ('pigeon sync' fetches new ones).", context, globals)
    {
    }

    /// <inheritdoc/>
    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken ct)
    {
        using var session = OpenProfile(parseResult);
        var requests = await session.Contacts.RequestsAsync();
        if (IsJson(parseResult))
        {
            WriteJson(requests.Select(r => new { accountId = r.AccountId, name = PeerText.Json(r.DisplayName), message = PeerText.Json(r.Message), receivedAt = r.ReceivedAt }));
        }
        else if (requests.Count == 0)
        {
            Context.WriteLine("No pending requests.");
        }
        else
        {
            WriteTable(["NAME", "ID", "RECEIVED", "MESSAGE"],
                requests.Select(r => (IReadOnlyList<string>)[PeerText.Inline(r.DisplayName), r.AccountId, Time(r.ReceivedAt), PeerText.Inline(r.Message)]));
            Context.WriteLine("Answer with 'pigeon accept <id>' or 'pigeon decline <id>'.");
        }
        return ExitCodes.Success;
    }
}
