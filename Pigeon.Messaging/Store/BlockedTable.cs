namespace Pigeon.Messaging.Store;

/// <summary>Table <c>blocked</c>: accounts whose envelopes are dropped unread and unanswered.</summary>
internal sealed class BlockedTable(ProfileDatabase database)
{
    /// <summary>True when <paramref name="accountId"/> is blocked.</summary>
    public bool Contains(string accountId) => database.Scalar("SELECT 1 FROM blocked WHERE account_id = $id", ("$id", accountId)) is not null;

    /// <summary>Every blocked account, oldest block first.</summary>
    public List<BlockedRow> All() => database.Query("SELECT account_id, blocked_at FROM blocked ORDER BY blocked_at, account_id",
        reader => new BlockedRow(reader.GetString(0), ProfileDatabase.FromMs(reader.GetInt64(1))));

    /// <summary>Blocks an account (again: no change).</summary>
    public void Add(string accountId, DateTimeOffset now) =>
        database.Execute("INSERT OR IGNORE INTO blocked (account_id, blocked_at) VALUES ($id, $now)", ("$id", accountId), ("$now", now.ToUnixTimeMilliseconds()));

    /// <summary>Unblocks an account; false when it was not blocked.</summary>
    public bool Remove(string accountId) => database.Execute("DELETE FROM blocked WHERE account_id = $id", ("$id", accountId)) > 0;
}
