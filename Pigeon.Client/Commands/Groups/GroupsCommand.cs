using System.CommandLine;
using Pigeon.Client.Cli;
using Pigeon.Messaging.Groups;

namespace Pigeon.Client.Commands.Groups;

/// <summary><c>pigeon groups</c>: the groups this profile knows, with their id prefix, members and whether you are still in them.</summary>
public sealed class GroupsCommand : PigeonCommand
{
    /// <summary>Declares the command.</summary>
    public GroupsCommand(CliContext context, GlobalOptions globals)
        : base("groups", "List your groups.", context, globals)
    {
    }

    /// <summary>The JSON shape of a group (its title through <see cref="PeerText.Json"/>).</summary>
    internal static object ToJson(GroupState group) => new
    {
        id = group.IdHex,
        title = PeerText.Json(group.Title),
        version = group.Version,
        open = group.Open,
        members = group.Members.Select(m => new { accountId = m.AccountId, role = m.Role }),
    };

    /// <inheritdoc/>
    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken ct)
    {
        using var session = OpenProfile(parseResult);
        var groups = await session.Groups.AllAsync();
        var me = session.Profile.AccountId;
        if (IsJson(parseResult))
        {
            WriteJson(groups.Select(g => new { group = ToJson(g), member = g.HasMember(me) }));
            return ExitCodes.Success;
        }

        if (groups.Count == 0)
        {
            Context.WriteLine("No groups yet: 'pigeon group create TITLE MEMBER…' makes one.");
            return ExitCodes.Success;
        }

        var contacts = (await session.Contacts.AllAsync()).ToDictionary(c => c.AccountId, c => c.Label);
        WriteTable(["ID", "TITLE", "MEMBERS", "YOU"], groups.Select(g => (IReadOnlyList<string>)
        [
            g.IdHex[..12],
            PeerText.Inline(g.Title),
            string.Join(", ", g.Members.Select(m => (m.AccountId == me ? "you" : PeerText.Inline(contacts.GetValueOrDefault(m.AccountId, m.AccountId)))
                + (m.Role == GroupRole.Admin ? " (admin)" : ""))),
            !g.HasMember(me) ? "left" : g.MayChange(me) ? "admin" : "member",
        ]));
        return ExitCodes.Success;
    }
}
