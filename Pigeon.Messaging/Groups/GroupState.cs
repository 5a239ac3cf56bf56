using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Pigeon.Messaging.Groups;

/// <summary>What a member may do in a group.</summary>
public enum GroupRole
{
    /// <summary>May send.</summary>
    Member,

    /// <summary>May send and change the title and the membership (ADR 0004).</summary>
    Admin,
}

/// <summary>One member of a group.</summary>
/// <param name="AccountId">The member's account id.</param>
/// <param name="Role">What it may do.</param>
public sealed record GroupMember(string AccountId, GroupRole Role);

/// <summary>
/// One version of a group's state (ADR 0004): it lives only in the members' clients and travels, whole,
/// in group-update messages over the pairwise sessions, so the server knows nothing of groups. Each
/// version names the version it replaces by hash (<see cref="Base"/>) and the member who made it
/// (<see cref="Author"/>), who must have been allowed to in that base; <see cref="GroupLog"/> decides
/// which of several valid versions is current. Immutable; members are kept sorted by account id so
/// that the same state always has the same <see cref="Hash"/>.
/// </summary>
public sealed class GroupState
{
    /// <summary>Size of a group id (random) and of a state hash.</summary>
    public const int IdSize = 32;

    /// <summary>Longest title accepted, in characters.</summary>
    public const int MaxTitleLength = 128;

    private static readonly byte[] HashLabel = "Pigeon/2/group-state"u8.ToArray();

    private GroupState(byte[] id, string title, IReadOnlyList<GroupMember> members, bool open, ulong version, string author, byte[] @base)
    {
        Id = id;
        Title = title;
        Members = members;
        Open = open;
        Version = version;
        Author = author;
        Base = @base;
        Hash = ComputeHash();
    }

    /// <summary>The group's random id, the same in every version.</summary>
    public byte[] Id { get; }

    /// <summary>The title.</summary>
    public string Title { get; }

    /// <summary>The members, sorted by account id.</summary>
    public IReadOnlyList<GroupMember> Members { get; }

    /// <summary>True when every member may change title and membership, not only admins.</summary>
    public bool Open { get; }

    /// <summary>1 for the created group, one more with each change.</summary>
    public ulong Version { get; }

    /// <summary>The member who made this version.</summary>
    public string Author { get; }

    /// <summary>The <see cref="Hash"/> of the version this one replaces; all zero for version 1.</summary>
    public byte[] Base { get; }

    /// <summary>SHA-256 over a label and the canonical encoding of every field above.</summary>
    public byte[] Hash { get; }

    /// <summary>The group id as lowercase hex, as the CLI shows it.</summary>
    public string IdHex => Convert.ToHexStringLower(Id);

    /// <summary>True when <paramref name="accountId"/> is a member.</summary>
    public bool HasMember(string accountId) => Members.Any(m => m.AccountId == accountId);

    /// <summary>True when <paramref name="accountId"/> may change title and membership in this version.</summary>
    public bool MayChange(string accountId) => Members.Any(m => m.AccountId == accountId && (Open || m.Role == GroupRole.Admin));

    /// <summary>A new group, version 1, with <paramref name="creator"/> as its admin.</summary>
    /// <exception cref="GroupChangeException">The title or the membership is not acceptable.</exception>
    public static GroupState Create(string creator, string title, IEnumerable<string> members, bool open, int maxMembers) =>
        Checked(RandomNumberGenerator.GetBytes(IdSize), title,
            [new GroupMember(creator, GroupRole.Admin), .. members.Where(m => m != creator).Distinct().Select(m => new GroupMember(m, GroupRole.Member))],
            open, 1, creator, new byte[IdSize], maxMembers);

    /// <summary>
    /// The next version, made by <paramref name="author"/>: the given title and members (roles as given).
    /// Checked here as every member checks it on receipt (<see cref="CheckSuccessor"/>).
    /// </summary>
    /// <exception cref="GroupChangeException">The author may not make this change, or the result is not acceptable.</exception>
    public GroupState Change(string author, string title, IEnumerable<GroupMember> members, int maxMembers)
    {
        var next = Checked(Id, title, [.. members], Open, Version + 1, author, Hash, maxMembers);
        CheckSuccessor(next);
        return next;
    }

    /// <summary>The next version with <paramref name="added"/> as members.</summary>
    public GroupState Add(string author, IEnumerable<string> added, int maxMembers) =>
        Change(author, Title, [.. Members, .. added.Where(a => !HasMember(a)).Distinct().Select(a => new GroupMember(a, GroupRole.Member))], maxMembers);

    /// <summary>The next version without <paramref name="removed"/>.</summary>
    public GroupState Remove(string author, IEnumerable<string> removed, int maxMembers)
    {
        var gone = removed.ToHashSet();
        return Change(author, Title, Members.Where(m => !gone.Contains(m.AccountId)), maxMembers);
    }

    /// <summary>The next version with another title.</summary>
    public GroupState Rename(string author, string title, int maxMembers) => Change(author, title, Members, maxMembers);

    /// <summary>The next version without its author, which any member may make.</summary>
    public GroupState Leave(string author, int maxMembers) => Remove(author, [author], maxMembers);

    /// <summary>
    /// Checks that <paramref name="next"/> may replace this version: same group, the next version
    /// number, this version's hash as its base, an author who is a member here and may change it
    /// (or who only removes itself), and roles changed only by an admin.
    /// </summary>
    /// <exception cref="GroupChangeException">It may not.</exception>
    public void CheckSuccessor(GroupState next)
    {
        ArgumentNullException.ThrowIfNull(next);
        if (!next.Id.AsSpan().SequenceEqual(Id) || next.Version != Version + 1 || !next.Base.AsSpan().SequenceEqual(Hash))
        {
            throw new GroupChangeException("The update does not follow the version it names.");
        }

        if (!HasMember(next.Author))
        {
            throw new GroupChangeException($"{next.Author} is not a member of the group.");
        }

        if (next.Open != Open)
        {
            throw new GroupChangeException("Whether a group is open is fixed when it is created.");
        }

        var onlyLeaves = next.Title == Title
            && next.Members.SequenceEqual(Members.Where(m => m.AccountId != next.Author))
            && !next.HasMember(next.Author);
        if (!onlyLeaves && !MayChange(next.Author))
        {
            throw new GroupChangeException($"{next.Author} may not change the group: only its admins may.");
        }

        var promoted = next.Members.Any(m => m.Role == GroupRole.Admin && Members.FirstOrDefault(o => o.AccountId == m.AccountId)?.Role != GroupRole.Admin);
        var demoted = Members.Any(m => m.Role == GroupRole.Admin && next.Members.FirstOrDefault(n => n.AccountId == m.AccountId) is { Role: GroupRole.Member });
        if ((promoted || demoted) && Members.FirstOrDefault(m => m.AccountId == next.Author)?.Role != GroupRole.Admin)
        {
            throw new GroupChangeException("Only an admin may promote or demote members.");
        }
    }

    /// <summary>Restores a version from its fields (as received or stored), checking what a version must be by itself.</summary>
    /// <exception cref="GroupChangeException">The fields do not make a well-formed version.</exception>
    public static GroupState FromFields(byte[] id, string title, IReadOnlyList<GroupMember> members, bool open, ulong version, string author, byte[] @base, int maxMembers)
    {
        ArgumentNullException.ThrowIfNull(members);
        if (id is not { Length: IdSize } || @base is not { Length: IdSize } || version == 0)
        {
            throw new GroupChangeException("The group state is malformed.");
        }

        var state = Checked(id, title, members, open, version, author, @base, maxMembers);
        if (version == 1 && (@base.Any(b => b != 0) || state.Members.FirstOrDefault(m => m.AccountId == author)?.Role != GroupRole.Admin))
        {
            throw new GroupChangeException("A created group names no base, and its creator is its admin.");
        }

        return state;
    }

    private static GroupState Checked(byte[] id, string title, IReadOnlyList<GroupMember> members, bool open, ulong version, string author, byte[] @base, int maxMembers)
    {
        title = (title ?? "").Trim();
        if (title.Length is 0 or > MaxTitleLength || title.Any(char.IsControl))
        {
            throw new GroupChangeException($"A group title is 1 to {MaxTitleLength} characters without control characters.");
        }

        if (members.Select(m => m.AccountId).Distinct().Count() != members.Count || members.Any(m => !Protocol.Identity.AccountId.IsWellFormed(m.AccountId)))
        {
            throw new GroupChangeException("The members are not distinct account ids.");
        }

        if (members.Count > maxMembers)
        {
            throw new GroupTooLargeException(members.Count, maxMembers);
        }

        return new GroupState(id, title, [.. members.OrderBy(m => m.AccountId, StringComparer.Ordinal)], open, version, author, @base);
    }

    private byte[] ComputeHash()
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        buffer.Write(HashLabel);
        buffer.Write(Id);
        WriteString(buffer, Title);
        BinaryPrimitives.WriteUInt32BigEndian(buffer.GetSpan(4), (uint)Members.Count);
        buffer.Advance(4);
        foreach (var member in Members)
        {
            WriteString(buffer, member.AccountId);
            buffer.Write([(byte)member.Role]);
        }

        buffer.Write([Open ? (byte)1 : (byte)0]);
        BinaryPrimitives.WriteUInt64BigEndian(buffer.GetSpan(8), Version);
        buffer.Advance(8);
        WriteString(buffer, Author);
        buffer.Write(Base);
        return SHA256.HashData(buffer.WrittenSpan);
    }

    private static void WriteString(ArrayBufferWriter<byte> buffer, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        BinaryPrimitives.WriteUInt32BigEndian(buffer.GetSpan(4), (uint)bytes.Length);
        buffer.Advance(4);
        buffer.Write(bytes);
    }
}
