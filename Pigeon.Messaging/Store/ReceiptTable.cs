namespace Pigeon.Messaging.Store;

/// <summary>
/// Table <c>receipts</c>: when a message was delivered and read. For one of ours the contact's receipts
/// set it; for one of theirs, <c>read_at</c> is when it was shown here (what is unread has none).
/// </summary>
internal sealed class ReceiptTable(ProfileDatabase database)
{
    /// <summary>Records that the contact's device has <paramref name="messageId"/> (never moves a time once set).</summary>
    public void Delivered(Guid messageId, DateTimeOffset at) => database.Execute(
        """
        INSERT INTO receipts (message_id, delivered_at) VALUES ($id, $at)
        ON CONFLICT (message_id) DO UPDATE SET delivered_at = coalesce(delivered_at, excluded.delivered_at)
        """,
        ("$id", messageId.ToString()), ("$at", at.ToUnixTimeMilliseconds()));

    /// <summary>Records that <paramref name="messageId"/> was read; a read message was delivered too.</summary>
    public void Read(Guid messageId, DateTimeOffset at) => database.Execute(
        """
        INSERT INTO receipts (message_id, delivered_at, read_at) VALUES ($id, $at, $at)
        ON CONFLICT (message_id) DO UPDATE SET delivered_at = coalesce(delivered_at, excluded.delivered_at), read_at = coalesce(read_at, excluded.read_at)
        """,
        ("$id", messageId.ToString()), ("$at", at.ToUnixTimeMilliseconds()));

    /// <summary>The incoming texts from a contact not read yet, oldest first.</summary>
    public List<Guid> Unread(string contactId) => database.Query(
        """
        SELECT m.message_id FROM messages m LEFT JOIN receipts r ON r.message_id = m.message_id
        WHERE m.contact_id = $contact AND m.direction = 'in' AND m.kind = 'text' AND r.read_at IS NULL ORDER BY m.id
        """,
        reader => Guid.Parse(reader.GetString(0)), ("$contact", contactId));

    /// <summary>How many incoming texts are unread, per contact.</summary>
    public Dictionary<string, int> UnreadCounts() => database.Query(
        """
        SELECT m.contact_id, count(*) FROM messages m LEFT JOIN receipts r ON r.message_id = m.message_id
        WHERE m.direction = 'in' AND m.kind = 'text' AND r.read_at IS NULL GROUP BY m.contact_id
        """,
        reader => (reader.GetString(0), (int)reader.GetInt64(1))).ToDictionary(r => r.Item1, r => r.Item2, StringComparer.Ordinal);
}
