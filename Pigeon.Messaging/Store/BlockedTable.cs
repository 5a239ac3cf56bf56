using System.Buffers.Binary;

namespace Pigeon.Messaging.Store;

/// <summary>Sealed table <c>blocked</c>: accounts whose envelopes are dropped unread and unanswered, with when they were blocked.</summary>
internal sealed class BlockedTable(SealedTable table)
{
    /// <summary>True when <paramref name="accountId"/> is blocked.</summary>
    public bool Contains(string accountId) => table.Find(accountId) is not null;

    /// <summary>Every blocked account, oldest block first.</summary>
    public List<BlockedRow> All() =>
    [
        .. table.All().Select(row => new BlockedRow(row.Key, ProfileDatabase.FromMs(BinaryPrimitives.ReadInt64BigEndian(row.Value))))
            .OrderBy(b => b.BlockedAt).ThenBy(b => b.AccountId, StringComparer.Ordinal),
    ];

    /// <summary>Blocks an account (again: no change).</summary>
    public void Add(string accountId, DateTimeOffset now)
    {
        if (Contains(accountId))
        {
            return;
        }

        var at = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(at, now.ToUnixTimeMilliseconds());
        table.Put(accountId, at);
    }

    /// <summary>Unblocks an account; false when it was not blocked.</summary>
    public bool Remove(string accountId) => table.Delete(accountId);
}
