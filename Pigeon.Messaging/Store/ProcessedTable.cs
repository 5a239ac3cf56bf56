namespace Pigeon.Messaging.Store;

/// <summary>Table <c>processed</c>: ids of envelopes already processed, so a redelivery is recognised.</summary>
internal sealed class ProcessedTable(ProfileDatabase database)
{
    /// <summary>True when an envelope with this id was already processed.</summary>
    public bool Contains(Guid messageId) => database.Scalar("SELECT 1 FROM processed WHERE message_id = $id", ("$id", messageId.ToString())) is not null;

    /// <summary>Remembers a processed envelope id.</summary>
    public void Add(Guid messageId, DateTimeOffset now) =>
        database.Execute("INSERT OR IGNORE INTO processed (message_id, processed_at) VALUES ($id, $now)", ("$id", messageId.ToString()), ("$now", now.ToUnixTimeMilliseconds()));

    /// <summary>Forgets ids processed before <paramref name="before"/>: the server redelivers only until the acknowledgement.</summary>
    public void Prune(DateTimeOffset before) =>
        database.Execute("DELETE FROM processed WHERE processed_at < $before", ("$before", before.ToUnixTimeMilliseconds()));
}
