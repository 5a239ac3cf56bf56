using System.Buffers.Binary;

namespace Pigeon.Messaging.Store;

/// <summary>
/// Sealed table <c>held</c>: received messages kept for an integration until it acknowledges them, by
/// message id, with when they were held. A row is written in the transaction that stores the message,
/// so nothing committed can miss it.
/// </summary>
internal sealed class HeldTable(SealedTable table, ProfileDatabase database)
{
    /// <summary>Holds a stored message.</summary>
    public void Add(Guid messageId, DateTimeOffset now)
    {
        var key = messageId.ToString();
        if (table.Find(key) is not null)
        {
            return;
        }

        var at = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(at, now.ToUnixTimeMilliseconds());
        table.Put(key, at);
    }

    /// <summary>Releases a message; false when it was not held.</summary>
    public bool Remove(Guid messageId) => table.Delete(messageId.ToString());

    /// <summary>Every held message with what was stored of it and its sender's name, oldest first.</summary>
    public List<(MessageRow Message, string? Name)> All()
    {
        var held = new List<(MessageRow Message, string? Name, long HeldAt)>();
        foreach (var (key, value) in table.All())
        {
            if (database.Messages.FindIncoming(Guid.Parse(key)) is { } message)
            {
                var name = database.Contacts.Find(message.ContactId)?.DisplayName ?? database.Requests.Find(message.ContactId)?.DisplayName;
                held.Add((message, name, BinaryPrimitives.ReadInt64BigEndian(value)));
            }
        }

        return [.. held.OrderBy(h => h.HeldAt).ThenBy(h => h.Message.At).Select(h => (h.Message, h.Name))];
    }
}
