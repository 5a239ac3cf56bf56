using System.CommandLine;
using Pigeon.Client.Cli;
using Pigeon.Messaging.Groups;
using Pigeon.Messaging.Profiles;

namespace Pigeon.Client.Commands.Groups;

/// <summary>
/// <c>pigeon group create|add|remove|promote|rename|leave</c>: makes and changes groups (ADR 0004).
/// Members are named by contact name or account id, groups by title or id prefix. Each change is sent,
/// whole, to every member over the pairwise sessions; the server learns nothing of the group.
/// </summary>
public sealed class GroupCommand : Command
{
    /// <summary>Declares the command and its subcommands.</summary>
    public GroupCommand(CliContext context, GlobalOptions globals)
        : base("group", "Create and change groups: create, add, remove, promote, rename, leave.")
    {
        Subcommands.Add(new CreateGroupCommand(context, globals));
        Subcommands.Add(new MembersCommand("add", "Add members to a group (only its admins may, unless it is open).", context, globals,
            (session, group, members, ct) => session.Groups.AddAsync(group, members, ct)));
        Subcommands.Add(new MembersCommand("remove", "Remove members from a group: they receive nothing more.", context, globals,
            (session, group, members, ct) => session.Groups.RemoveAsync(group, members, ct)));
        Subcommands.Add(new MembersCommand("promote", "Make members admins of a group (only an admin may).", context, globals,
            (session, group, members, ct) => session.Groups.PromoteAsync(group, members, ct)));
        Subcommands.Add(new RenameGroupCommand(context, globals));
        Subcommands.Add(new LeaveGroupCommand(context, globals));
    }

    /// <summary>Writes what a change made of the group.</summary>
    internal static void Report(CliContext context, bool json, Action<object> writeJson, string done, GroupState group)
    {
        if (json)
        {
            writeJson(GroupsCommand.ToJson(group));
        }
        else
        {
            context.WriteLine($"{done} '{PeerText.Inline(group.Title)}' ({group.IdHex[..12]}, {group.Members.Count} members, version {group.Version}).");
        }
    }

    private sealed class CreateGroupCommand : PigeonCommand
    {
        private readonly Argument<string> _title = new("title") { Description = "The group's title" };

        private readonly Argument<string[]> _members = new("member") { Description = "Members: contact names or account ids", Arity = ArgumentArity.OneOrMore };

        private readonly Option<bool> _open = new("--open") { Description = "Let every member change the title and the members, not only admins" };

        public CreateGroupCommand(CliContext context, GlobalOptions globals)
            : base("create", "Create a group with you as its admin.", context, globals)
        {
            Arguments.Add(_title);
            Arguments.Add(_members);
            Options.Add(_open);
        }

        protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken ct)
        {
            using var session = OpenProfile(parseResult);
            var group = await session.Groups.CreateAsync(parseResult.GetRequiredValue(_title), parseResult.GetRequiredValue(_members), parseResult.GetValue(_open), ct);
            Report(Context, IsJson(parseResult), WriteJson, "Created", group);
            return ExitCodes.Success;
        }
    }

    private sealed class MembersCommand : PigeonCommand
    {
        private readonly Argument<string> _group = new("group") { Description = "The group's title or id prefix" };

        private readonly Argument<string[]> _members = new("member") { Description = "Members: contact names or account ids", Arity = ArgumentArity.OneOrMore };

        private readonly Func<ProfileSession, string, IReadOnlyCollection<string>, CancellationToken, Task<GroupState>> _change;

        private readonly string _done;

        public MembersCommand(string name, string description, CliContext context, GlobalOptions globals,
            Func<ProfileSession, string, IReadOnlyCollection<string>, CancellationToken, Task<GroupState>> change)
            : base(name, description, context, globals)
        {
            _change = change;
            _done = name switch
            {
                "add" => "Added to",
                "remove" => "Removed from",
                _ => "Promoted in",
            };
            Arguments.Add(_group);
            Arguments.Add(_members);
        }

        protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken ct)
        {
            using var session = OpenProfile(parseResult);
            var group = await _change(session, parseResult.GetRequiredValue(_group), parseResult.GetRequiredValue(_members), ct);
            Report(Context, IsJson(parseResult), WriteJson, _done, group);
            return ExitCodes.Success;
        }
    }

    private sealed class RenameGroupCommand : PigeonCommand
    {
        private readonly Argument<string> _group = new("group") { Description = "The group's title or id prefix" };

        private readonly Argument<string> _title = new("title") { Description = "The new title" };

        public RenameGroupCommand(CliContext context, GlobalOptions globals)
            : base("rename", "Give a group another title.", context, globals)
        {
            Arguments.Add(_group);
            Arguments.Add(_title);
        }

        protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken ct)
        {
            using var session = OpenProfile(parseResult);
            var group = await session.Groups.RenameAsync(parseResult.GetRequiredValue(_group), parseResult.GetRequiredValue(_title), ct);
            Report(Context, IsJson(parseResult), WriteJson, "Renamed", group);
            return ExitCodes.Success;
        }
    }

    private sealed class LeaveGroupCommand : PigeonCommand
    {
        private readonly Argument<string> _group = new("group") { Description = "The group's title or id prefix" };

        public LeaveGroupCommand(CliContext context, GlobalOptions globals)
            : base("leave", "Leave a group: the others are told, and you receive nothing more from it.", context, globals)
        {
            Arguments.Add(_group);
        }

        protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken ct)
        {
            using var session = OpenProfile(parseResult);
            var group = await session.Groups.LeaveAsync(parseResult.GetRequiredValue(_group), ct);
            Report(Context, IsJson(parseResult), WriteJson, "Left", group);
            return ExitCodes.Success;
        }
    }
}
