using System.Text;

namespace Pigeon.Messaging.Store;

/// <summary>Table <c>messages</c>: the history, each body sealed.</summary>
internal sealed class MessageTable(ProfileDatabase database)
{
    private const string Purpose = "message";

    /// <summary>Appends a history item and moves the contact's last-message time.</summary>
    public long Add(string contactId, MessageDirection direction, MessageKind kind, MessageStatus status, Guid messageId, string? body,
        DateTimeOffset? sentAt, DateTimeOffset at)
    {
        database.Contacts.Touch(contactId, at);
        return (long)database.Scalar(
            """
            INSERT INTO messages (contact_id, direction, kind, status, message_id, body_sealed, sent_at, at)
            VALUES ($contact, $direction, $kind, $status, $messageId, $body, $sent, $at) RETURNING id
            """,
            ("$contact", contactId), ("$direction", Lower(direction)), ("$kind", Lower(kind)), ("$status", Lower(status)),
            ("$messageId", messageId.ToString()), ("$body", body is null ? null : database.Seal(Encoding.UTF8.GetBytes(body), Purpose)),
            ("$sent", sentAt?.ToUnixTimeMilliseconds()), ("$at", at.ToUnixTimeMilliseconds()))!;
    }

    /// <summary>The last <paramref name="limit"/> items with a contact, oldest first, with their receipts.</summary>
    public List<MessageRow> History(string contactId, int limit) => database.Query(
        """
        SELECT * FROM (SELECT m.id, m.contact_id, m.direction, m.kind, m.status, m.message_id, m.body_sealed, m.sent_at, m.at, r.delivered_at, r.read_at
                       FROM messages m LEFT JOIN receipts r ON r.message_id = m.message_id
                       WHERE m.contact_id = $contact ORDER BY m.id DESC LIMIT $limit) ORDER BY id
        """,
        Read, ("$contact", contactId), ("$limit", limit));

    /// <summary>
    /// The outgoing items to <paramref name="contactId"/> among <paramref name="messageIds"/>: a receipt
    /// counts only for messages sent to the contact who sends it.
    /// </summary>
    public List<Guid> SentTo(string contactId, IEnumerable<Guid> messageIds)
    {
        var wanted = messageIds.ToHashSet();
        return [.. database.Query(
            "SELECT message_id FROM messages WHERE contact_id = $contact AND direction = 'out' AND kind = 'text'",
            reader => Guid.Parse(reader.GetString(0)), ("$contact", contactId)).Where(wanted.Contains)];
    }

    /// <summary>Reads a row of the columns <see cref="History"/> selects, in its order.</summary>
    internal MessageRow Read(Microsoft.Data.Sqlite.SqliteDataReader reader) => new(
        reader.GetInt64(0), reader.GetString(1), Enum.Parse<MessageDirection>(reader.GetString(2), true), Enum.Parse<MessageKind>(reader.GetString(3), true),
        Enum.Parse<MessageStatus>(reader.GetString(4), true), Guid.Parse(reader.GetString(5)),
        reader.IsDBNull(6) ? null : Encoding.UTF8.GetString(database.OpenSealed((byte[])reader[6], Purpose)),
        reader.IsDBNull(7) ? null : ProfileDatabase.FromMs(reader.GetInt64(7)), ProfileDatabase.FromMs(reader.GetInt64(8)),
        reader.IsDBNull(9) ? null : ProfileDatabase.FromMs(reader.GetInt64(9)), reader.IsDBNull(10) ? null : ProfileDatabase.FromMs(reader.GetInt64(10)));

    /// <summary>The outgoing item sent with envelope <paramref name="messageId"/>, or null.</summary>
    public MessageRow? FindOutgoing(Guid messageId) => database.Query(
        """
        SELECT m.id, m.contact_id, m.direction, m.kind, m.status, m.message_id, m.body_sealed, m.sent_at, m.at, r.delivered_at, r.read_at
        FROM messages m LEFT JOIN receipts r ON r.message_id = m.message_id WHERE m.message_id = $id AND m.direction = 'out'
        """,
        Read, ("$id", messageId.ToString())).FirstOrDefault();

    /// <summary>Gives an outgoing item the id of the envelope that now carries it, and a status.</summary>
    public void Reassign(Guid messageId, Guid newMessageId, MessageStatus status) => database.Execute(
        "UPDATE messages SET message_id = $new, status = $status WHERE message_id = $id AND direction = 'out'",
        ("$id", messageId.ToString()), ("$new", newMessageId.ToString()), ("$status", Lower(status)));

    /// <summary>Sets the delivery status of an outgoing item.</summary>
    public void SetStatus(Guid messageId, MessageStatus status) =>
        database.Execute("UPDATE messages SET status = $status WHERE message_id = $id AND direction = 'out'", ("$id", messageId.ToString()), ("$status", Lower(status)));

    /// <summary>
    /// Deletes items older than <paramref name="before"/> kept under ids that are neither a contact nor
    /// a request (strangers' failed items, and those from nobody proven).
    /// </summary>
    public void DeleteStrangersBefore(DateTimeOffset before) => database.Execute(
        """
        DELETE FROM messages WHERE at < $before AND contact_id NOT IN (SELECT account_id FROM contacts)
                                              AND contact_id NOT IN (SELECT account_id FROM requests)
        """,
        ("$before", before.ToUnixTimeMilliseconds()));

    /// <summary>Deletes the history kept under an account id (a declined request's).</summary>
    public void DeleteHistory(string contactId) => database.Execute("DELETE FROM messages WHERE contact_id = $id", ("$id", contactId));

    private static string Lower<T>(T value) where T : struct, Enum => value.ToString().ToLowerInvariant();
}
