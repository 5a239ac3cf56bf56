using System.Text.Json.Serialization;

namespace Pigeon.Messaging.Groups;

/// <summary>
/// A group state as it travels in a group update (inner message member <c>g</c>) and as it is kept,
/// sealed, in the profile: <c>id</c> (32 bytes, base64), <c>title</c>, <c>m</c> members
/// (<c>a</c> account id, <c>r</c> 0 member or 1 admin), <c>open</c>, <c>ver</c>, <c>by</c> the author,
/// <c>base</c> the hash of the version it replaces (32 bytes, base64). Every member checks what it
/// receives with <see cref="ToState"/>.
/// </summary>
/// <param name="Id">The group id.</param>
/// <param name="Title">The title.</param>
/// <param name="Members">The members.</param>
/// <param name="Open">Whether every member may change the group.</param>
/// <param name="Version">The version number.</param>
/// <param name="Author">Who made this version.</param>
/// <param name="Base">The hash of the version it replaces.</param>
public sealed record GroupWire(
    [property: JsonPropertyName("id")] byte[] Id,
    [property: JsonPropertyName("title")] string Title,
    [property: JsonPropertyName("m")] GroupMemberWire[] Members,
    [property: JsonPropertyName("open")] bool Open,
    [property: JsonPropertyName("ver")] ulong Version,
    [property: JsonPropertyName("by")] string Author,
    [property: JsonPropertyName("base")] byte[] Base)
{
    /// <summary>The wire form of <paramref name="state"/>.</summary>
    public static GroupWire From(GroupState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        return new GroupWire(state.Id, state.Title, [.. state.Members.Select(m => new GroupMemberWire(m.AccountId, (int)m.Role))], state.Open,
            state.Version, state.Author, state.Base);
    }

    /// <summary>The state it describes, checked as a well-formed version.</summary>
    /// <exception cref="GroupChangeException">It is not one.</exception>
    public GroupState ToState(int maxMembers)
    {
        if (Members is null || Members.Any(m => m is null || m.Role is not (0 or 1)))
        {
            throw new GroupChangeException("The group state is malformed.");
        }

        return GroupState.FromFields(Id, Title, [.. Members.Select(m => new GroupMember(m.AccountId, (GroupRole)m.Role))], Open, Version, Author ?? "", Base,
            maxMembers);
    }
}

/// <summary>One member in a <see cref="GroupWire"/>.</summary>
/// <param name="AccountId">The member's account id.</param>
/// <param name="Role">0 member, 1 admin.</param>
public sealed record GroupMemberWire(
    [property: JsonPropertyName("a")] string AccountId,
    [property: JsonPropertyName("r")] int Role);
