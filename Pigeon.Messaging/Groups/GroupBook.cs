using Pigeon.Messaging.Attachments;
using Pigeon.Messaging.Delivery;
using Pigeon.Messaging.Profiles;
using Pigeon.Messaging.Store;
using Pigeon.Protocol.Identity;

namespace Pigeon.Messaging.Groups;

/// <summary>
/// The groups of a profile (ADR 0004): created, changed and left here, each change sent whole to every
/// member (and to those it removes) over the pairwise sessions, and texts sent to every member in one
/// deposit. The server sees envelopes to accounts, never a group.
/// </summary>
public sealed class GroupBook
{
    /// <summary>The shortest id prefix that names a group.</summary>
    public const int MinIdPrefix = 4;

    private readonly ProfileSession _session;

    internal GroupBook(ProfileSession session) => _session = session;

    private string Me => _session.Profile.AccountId;

    private int MaxMembers => _session.Environment.MaxGroupMembers;

    /// <summary>Every group this profile knows (the current version of each), by title.</summary>
    public Task<List<GroupState>> AllAsync() => _session.WithStoreAsync(database =>
        database.Groups.All().Select(log => log.Current).OrderBy(g => g.Title, StringComparer.OrdinalIgnoreCase).ThenBy(g => g.IdHex).ToList());

    /// <summary>The group with this title (any case) or whose id starts with this hex prefix (at least <see cref="MinIdPrefix"/> characters).</summary>
    /// <exception cref="AmbiguousNameException">Several groups match; their ids are listed.</exception>
    /// <exception cref="GroupNotFoundException">None does.</exception>
    public Task<GroupState> ResolveAsync(string reference) => _session.WithStoreAsync(database => Resolve(database, reference).Current);

    /// <summary>
    /// What <paramref name="reference"/> names where a contact or a group is accepted (send, history,
    /// chat, the daemon): a contact by name or id, or a group by title or id prefix.
    /// </summary>
    /// <exception cref="AmbiguousNameException">It names several (contacts, groups, or a contact and a group); the candidates are listed.</exception>
    /// <exception cref="ContactNotFoundException">It names nothing.</exception>
    public async Task<Conversation> ResolveConversationAsync(string reference)
    {
        ContactRow? contact = null;
        ContactNotFoundException? notFound = null;
        try
        {
            contact = await _session.Contacts.ResolveAsync(reference);
        }
        catch (ContactNotFoundException exception)
        {
            notFound = exception;
        }

        var groups = await _session.WithStoreAsync(database => Matches(database, reference));
        return (contact, groups.Count) switch
        {
            (not null, 0) => new Conversation(contact, null),
            (null, 1) => new Conversation(null, groups[0].Current),
            (null, 0) => throw new ContactNotFoundException(reference, notFound!.PendingRequest, groupsToo: true),
            _ => throw new AmbiguousNameException(reference, contact is null ? NameList.Groups : NameList.Conversations,
                [.. (contact is null ? Array.Empty<string>() : [$"contact {contact.AccountId}"]).Concat(groups.Select(Candidate))]),
        };
    }

    /// <summary>The last <paramref name="limit"/> items of a group's history, oldest first (each incoming one names its <see cref="MessageRow.Author"/>).</summary>
    public async Task<(GroupState Group, List<MessageRow> Messages)> HistoryAsync(string reference, int limit) => await HistoryAsync(await ResolveAsync(reference), limit);

    /// <summary>The last <paramref name="limit"/> items of <paramref name="group"/>'s history, oldest first.</summary>
    public async Task<(GroupState Group, List<MessageRow> Messages)> HistoryAsync(GroupState group, int limit)
    {
        ArgumentNullException.ThrowIfNull(group);
        await _session.DeleteExpiredMessagesAsync();
        return (group, await _session.WithStoreAsync(database => database.Messages.History(Conversation(group), limit)));
    }

    /// <summary>
    /// Creates a group with this profile as its admin and <paramref name="members"/> (contact names or
    /// account ids), and sends it to them. An open group lets every member change it.
    /// </summary>
    public async Task<GroupState> CreateAsync(string title, IReadOnlyCollection<string> members, bool open, CancellationToken ct)
    {
        var accounts = await ResolveMembersAsync(members);
        var created = GroupState.Create(Me, title, accounts, open, MaxMembers);
        return await PublishAsync(null, new GroupLog(created), created, ct);
    }

    /// <summary>Adds members (contact names or account ids); they see the group from this version on.</summary>
    public async Task<GroupState> AddAsync(string reference, IReadOnlyCollection<string> members, CancellationToken ct)
    {
        var accounts = await ResolveMembersAsync(members);
        return await ChangeAsync(reference, group => group.Add(Me, accounts, MaxMembers), ct);
    }

    /// <summary>Removes members; they are told, and nothing sent after it reaches them.</summary>
    public async Task<GroupState> RemoveAsync(string reference, IReadOnlyCollection<string> members, CancellationToken ct)
    {
        var accounts = await ResolveMembersAsync(members);
        return await ChangeAsync(reference, group => group.Remove(Me, accounts, MaxMembers), ct);
    }

    /// <summary>Makes members admins (only an admin may).</summary>
    public async Task<GroupState> PromoteAsync(string reference, IReadOnlyCollection<string> members, CancellationToken ct)
    {
        var accounts = (await ResolveMembersAsync(members)).ToHashSet();
        return await ChangeAsync(reference, group => group.Change(Me, group.Title,
            group.Members.Select(m => accounts.Contains(m.AccountId) ? m with { Role = GroupRole.Admin } : m), MaxMembers), ct);
    }

    /// <summary>Gives the group another title.</summary>
    public Task<GroupState> RenameAsync(string reference, string title, CancellationToken ct) =>
        ChangeAsync(reference, group => group.Rename(Me, title, MaxMembers), ct);

    /// <summary>Leaves the group (any member may); the others are told, and nothing more is sent here.</summary>
    public Task<GroupState> LeaveAsync(string reference, CancellationToken ct) => ChangeAsync(reference, group => group.Leave(Me, MaxMembers), ct);

    /// <summary>Sends a text to every other member of the group, in one deposit; returns its history id.</summary>
    /// <exception cref="GroupChangeException">This profile is not a member.</exception>
    public async Task<Guid> SendAsync(string reference, string text, CancellationToken ct) => await SendAsync(await ResolveAsync(reference), text, ct);

    /// <summary>Sends a text to every other member of <paramref name="group"/> (its latest version here), in one deposit.</summary>
    /// <exception cref="GroupChangeException">This profile is not a member.</exception>
    public Task<Guid> SendAsync(GroupState group, string text, CancellationToken ct) => SendAsync(group, text, null, ct);

    /// <summary>
    /// <see cref="SendAsync(GroupState, string, CancellationToken)"/> for a text that carries an uploaded
    /// file (one upload, its pointer in every member's envelope); <paramref name="text"/> is its caption, and may be null.
    /// </summary>
    internal async Task<Guid> SendAsync(GroupState group, string? text, AttachmentPointer? attachment, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(group);
        group = await ResolveAsync(group.IdHex);
        if (!group.HasMember(Me))
        {
            throw new GroupChangeException($"You are not a member of '{group.Title}' any more.");
        }

        var recipients = group.Members.Select(m => m.AccountId).Where(a => a != Me).ToList();
        var messageId = Guid.NewGuid();
        await _session.Outbox.SendToManyAsync(recipients,
            (database, now) => new InnerMessage(InnerMessageType.GroupText, _session.Profile.DisplayName, text, now, GroupId: group.Id, Attachment: attachment),
            (database, now) =>
            {
                database.Messages.Add(Conversation(group), MessageDirection.Out, MessageKind.Text, MessageStatus.Queued, messageId, text, now, now,
                    author: Me, attachmentId: attachment?.AttachmentId);
                _session.Outbox.RecordSentAttachment(database, attachment, messageId, Conversation(group), now);
                _session.Outbox.QueueCopyToOwnDevices(database, messageId, null, group.Id, text, attachment, null, now);
            },
            ct);
        await _session.WithStoreAsync(database => database.Messages.SetStatus(messageId, MessageStatus.Sent));
        return messageId;
    }

    /// <summary>Marks every unread text of <paramref name="group"/> read, here and on our other devices: no read receipt goes to the members.</summary>
    public async Task MarkReadAsync(GroupState group, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(group);
        if ((await _session.Outbox.MarkReadAsync(Conversation(group), ct)).Count > 0)
        {
            await _session.Outbox.DeliverOrKeepAsync(ct);
        }
    }

    /// <summary>The history key of a group's conversation (never a contact's account id).</summary>
    internal static string Conversation(GroupState group) => "group:" + group.IdHex;

    /// <summary>What changed from <paramref name="before"/> to <paramref name="after"/>, in words, for the history.</summary>
    internal static string Describe(ProfileDatabase database, string me, GroupState? before, GroupState after)
    {
        string Name(string accountId) => accountId == me ? "you" : database.Contacts.Find(accountId)?.Label ?? accountId;
        var by = Name(after.Author);
        if (before is null)
        {
            return after.Version == 1 ? $"{by} created '{after.Title}'" : $"{by} added you to '{after.Title}'";
        }

        var parts = new List<string>();
        var added = after.Members.Where(m => !before.HasMember(m.AccountId)).Select(m => Name(m.AccountId)).ToList();
        var removed = before.Members.Where(m => !after.HasMember(m.AccountId) && m.AccountId != after.Author).Select(m => Name(m.AccountId)).ToList();
        var promoted = after.Members.Where(m => m.Role == GroupRole.Admin && before.Members.Any(b => b.AccountId == m.AccountId && b.Role != GroupRole.Admin))
            .Select(m => Name(m.AccountId)).ToList();
        if (before.HasMember(after.Author) && !after.HasMember(after.Author))
        {
            parts.Add("left");
        }

        if (added.Count > 0)
        {
            parts.Add("added " + string.Join(", ", added));
        }

        if (removed.Count > 0)
        {
            parts.Add("removed " + string.Join(", ", removed));
        }

        if (promoted.Count > 0)
        {
            parts.Add("made " + string.Join(", ", promoted) + " admin");
        }

        if (before.Title != after.Title)
        {
            parts.Add($"renamed the group to '{after.Title}'");
        }

        return $"{by} {(parts.Count == 0 ? "changed the group" : string.Join("; ", parts))}";
    }

    private async Task<GroupState> ChangeAsync(string reference, Func<GroupState, GroupState> change, CancellationToken ct)
    {
        var log = await _session.WithStoreAsync(database => Resolve(database, reference));
        var before = log.Current;
        var next = change(before);
        log.Accept(next);
        return await PublishAsync(before, log, next, ct);
    }

    // Stores the new version with its history item and sends it to every member of either version
    // but us (a removed member learns it was removed), and to our own other devices, in one deposit.
    private async Task<GroupState> PublishAsync(GroupState? before, GroupLog log, GroupState next, CancellationToken ct)
    {
        var recipients = (before?.Members ?? []).Concat(next.Members).Select(m => m.AccountId).Where(a => a != Me).Distinct().ToList();
        var messageId = Guid.NewGuid();
        await _session.Outbox.SendToManyAsync([.. recipients, Me],
            (database, now) => new InnerMessage(InnerMessageType.GroupUpdate, _session.Profile.DisplayName, null, now,
                Group: GroupWire.From(next), MemberDeliveryKeys: MemberKeys(database, next)),
            (database, now) =>
            {
                database.Groups.Save(log);
                database.Messages.Add(Conversation(next), MessageDirection.Out, MessageKind.GroupChange, MessageStatus.Sent, messageId,
                    Describe(database, Me, before, next), now, now, author: Me);
            },
            ct);
        return next;
    }

    // The delivery keys of the members that we hold (ours included), so that members who are not each
    // other's contacts deposit to each other sealed.
    private static Dictionary<string, byte[]> MemberKeys(ProfileDatabase database, GroupState group)
    {
        var keys = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var member in group.Members)
        {
            if (database.DeliveryKeys.Load(member.AccountId) is { } key)
            {
                keys[member.AccountId] = key.ToBytes();
            }
        }

        return keys;
    }

    private async Task<List<string>> ResolveMembersAsync(IEnumerable<string> references)
    {
        var accounts = new List<string>();
        foreach (var reference in references)
        {
            try
            {
                accounts.Add((await _session.Contacts.ResolveAsync(reference)).AccountId);
            }
            catch (ContactNotFoundException) when (AccountId.IsWellFormed(reference))
            {
                accounts.Add(reference);
            }
        }

        return accounts;
    }

    private static GroupLog Resolve(ProfileDatabase database, string reference)
    {
        var matches = Matches(database, reference);
        return matches.Count switch
        {
            1 => matches[0],
            0 => throw new GroupNotFoundException(reference),
            _ => throw new AmbiguousNameException(reference, NameList.Groups, [.. matches.Select(Candidate)]),
        };
    }

    private static string Candidate(GroupLog log) => $"group {log.Current.IdHex[..12]} ({log.Current.Title})";

    private static List<GroupLog> Matches(ProfileDatabase database, string reference)
    {
        var all = database.Groups.All();
        var byTitle = all.Where(g => string.Equals(g.Current.Title, reference.Trim(), StringComparison.OrdinalIgnoreCase)).ToList();
        if (byTitle.Count > 0)
        {
            return byTitle;
        }

        return reference.Length >= MinIdPrefix && reference.All(Uri.IsHexDigit)
            ? [.. all.Where(g => g.Current.IdHex.StartsWith(reference, StringComparison.OrdinalIgnoreCase))]
            : [];
    }
}

/// <summary>A conversation named where a contact or a group is accepted: exactly one of the two is set.</summary>
/// <param name="Contact">The contact, for a pairwise conversation.</param>
/// <param name="Group">The group, for a group conversation.</param>
public sealed record Conversation(ContactRow? Contact, GroupState? Group)
{
    /// <summary>The history key: the contact's account id, or <c>group:</c> and the group id in hex.</summary>
    public string Key => Contact?.AccountId ?? GroupBook.Conversation(Group!);
}
