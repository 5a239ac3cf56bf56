using Pigeon.Messaging.Groups;

namespace Pigeon.Messaging.Store;

/// <summary>
/// Sealed table <c>groups</c>: each group this profile knows, by id (hex), with the versions of its
/// state it accepted (<see cref="GroupLog"/>): titles and members are never in the clear.
/// </summary>
internal sealed class GroupTable(SealedTable table)
{
    // Versions this far behind the current one are dropped: a concurrent change rests on a recent base.
    private const ulong KeptVersionsBehind = 8;

    /// <summary>The log of group <paramref name="groupId"/>, or null when it is unknown here.</summary>
    public GroupLog? Find(string groupId) => table.Find(groupId) is { } value ? Read(value) : null;

    /// <summary>Every group's stored versions as they are kept, for a device being linked.</summary>
    public List<(string GroupId, byte[] Stored)> Export() => table.All();

    /// <summary>Stores a group as <see cref="Export"/> gave it (checked by reading it back).</summary>
    public void Import(string groupId, byte[] stored)
    {
        Read(stored);
        table.Put(groupId, stored);
    }

    /// <summary>Every group's log.</summary>
    public List<GroupLog> All() => [.. table.All().Select(row => Read(row.Value))];

    /// <summary>Stores the log of a group (its current version and the recent others).</summary>
    public void Save(GroupLog log)
    {
        var floor = log.Current.Version > KeptVersionsBehind ? log.Current.Version - KeptVersionsBehind : 0;
        var byHash = log.Accepted.ToDictionary(v => Convert.ToHexString(v.Hash));
        // The current version's ancestors first, oldest first: reading starts from the oldest of them.
        var chain = new List<GroupState>();
        for (var at = log.Current; at is not null && at.Version >= floor; at = byHash.GetValueOrDefault(Convert.ToHexString(at.Base)))
        {
            chain.Insert(0, at);
        }

        var others = log.Accepted.Where(v => v.Version >= chain[0].Version && !chain.Contains(v)).OrderBy(v => v.Version);
        table.Put(log.Current.IdHex, StoreJson.Write(new StoredGroup([.. chain.Concat(others).Select(GroupWire.From)])));
    }

    /// <summary>True when <paramref name="accountId"/> is a member of a group this profile is in too.</summary>
    public bool SharesGroupWith(string accountId, string ownAccountId) =>
        All().Any(log => log.Current.HasMember(accountId) && log.Current.HasMember(ownAccountId));

    private GroupLog Read(byte[] value)
    {
        var stored = StoreJson.Read<StoredGroup>(value, table.Name);
        try
        {
            // Each version was checked when it was accepted; the limit may have been lowered since.
            var versions = stored.Versions.Select(v => v.ToState(int.MaxValue)).ToList();
            var log = new GroupLog(versions[0]);
            foreach (var version in versions.Skip(1).OrderBy(v => v.Version))
            {
                log.Accept(version);
            }

            return log;
        }
        catch (Exception exception) when (exception is GroupChangeException or ArgumentException)
        {
            throw new ProfileDamagedException(table.Name, exception);
        }
    }
}
