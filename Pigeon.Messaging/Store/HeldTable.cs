namespace Pigeon.Messaging.Store;

/// <summary>
/// Table <c>held</c>: received messages kept for an integration until it acknowledges them. A row is
/// written in the transaction that stores the message, so nothing committed can miss it.
/// </summary>
internal sealed class HeldTable(ProfileDatabase database)
{
    /// <summary>Holds a stored message.</summary>
    public void Add(Guid messageId, DateTimeOffset now) =>
        database.Execute("INSERT OR IGNORE INTO held (message_id, held_at) VALUES ($id, $now)", ("$id", messageId.ToString()), ("$now", now.ToUnixTimeMilliseconds()));

    /// <summary>Releases a message; false when it was not held.</summary>
    public bool Remove(Guid messageId)
    {
        using var command = database.Command("DELETE FROM held WHERE message_id = $id", ("$id", messageId.ToString()));
        return command.ExecuteNonQuery() == 1;
    }

    /// <summary>Every held message with what was stored of it, oldest first.</summary>
    public List<(MessageRow Message, string? Name)> All() => database.Query(
        """
        SELECT m.id, m.contact_id, m.direction, m.kind, m.status, m.message_id, m.body_sealed, m.sent_at, m.at, r.delivered_at, r.read_at,
               coalesce(c.display_name, q.display_name)
        FROM held h JOIN messages m ON m.message_id = h.message_id AND m.direction = 'in'
        LEFT JOIN receipts r ON r.message_id = m.message_id LEFT JOIN contacts c ON c.account_id = m.contact_id LEFT JOIN requests q ON q.account_id = m.contact_id
        ORDER BY m.id
        """,
        reader => (database.Messages.Read(reader), reader.IsDBNull(11) ? null : reader.GetString(11)));
}
