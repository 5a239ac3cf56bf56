using System.Buffers.Binary;

namespace Pigeon.Messaging.Store;

/// <summary>Sealed table <c>processed</c>: ids of envelopes already processed (and when), so a redelivery is recognised.</summary>
internal sealed class ProcessedTable(SealedTable table)
{
    /// <summary>True when an envelope with this id was already processed.</summary>
    public bool Contains(Guid messageId) => table.Find(messageId.ToString()) is not null;

    /// <summary>Remembers a processed envelope id.</summary>
    public void Add(Guid messageId, DateTimeOffset now)
    {
        var at = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(at, now.ToUnixTimeMilliseconds());
        table.Put(messageId.ToString(), at);
    }

    /// <summary>Forgets ids processed before <paramref name="before"/>: the server redelivers only until the acknowledgement.</summary>
    public void Prune(DateTimeOffset before)
    {
        var limit = before.ToUnixTimeMilliseconds();
        foreach (var (key, value) in table.All())
        {
            if (BinaryPrimitives.ReadInt64BigEndian(value) < limit)
            {
                table.Delete(key);
            }
        }
    }
}
