using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Data.Sqlite;

namespace Pigeon.Messaging.Store;

/// <summary>
/// Table <c>messages</c>: the history. A row is <c>(id, conversation, seq, ref, version, sealed)</c>:
/// a random id, the keyed hash of the contact's account id, the item's place in its conversation
/// (1, 2, …: the order within one conversation, and nothing about its time or about other
/// conversations), the keyed hash of the message id, and everything else sealed with all of these as
/// associated data. When an item disappears is kept in sealed table <c>expiries</c>, by row id, so
/// every start finds what is due without opening the whole history.
/// </summary>
internal sealed class MessageTable(ProfileDatabase database, SealedTable expiries)
{
    private const string Table = "messages";
    private const string Columns = "id, conversation, seq, ref, version, sealed";

    /// <summary>Appends a history item and moves the contact's last-message time; returns its row id.</summary>
    public long Add(string contactId, MessageDirection direction, MessageKind kind, MessageStatus status, Guid messageId, string? body,
        DateTimeOffset? sentAt, DateTimeOffset at, DateTimeOffset? expiresAt = null, string? author = null, Guid? attachmentId = null)
    {
        database.Contacts.Touch(contactId, at);
        var conversation = database.Lookup("conversation", contactId);
        var seq = (database.Scalar("SELECT max(seq) FROM messages WHERE conversation = $conversation", ("$conversation", conversation)) is long last ? last : 0) + 1;
        var id = RandomNumberGenerator.GetInt32(1, int.MaxValue) * (1L << 31) + RandomNumberGenerator.GetInt32(0, int.MaxValue);
        Write(id, conversation, seq, 1, new StoredMessage(contactId, direction, kind, status, messageId, body,
            sentAt?.ToUnixTimeMilliseconds(), at.ToUnixTimeMilliseconds(), expiresAt?.ToUnixTimeMilliseconds(), Author: author, AttachmentId: attachmentId), insert: true);
        if (expiresAt is { } expires)
        {
            var value = new byte[8];
            BinaryPrimitives.WriteInt64BigEndian(value, expires.ToUnixTimeMilliseconds());
            expiries.Put(id.ToString(CultureInfo.InvariantCulture), value);
        }

        return id;
    }

    /// <summary>The last <paramref name="limit"/> items with a contact, oldest first.</summary>
    public List<MessageRow> History(string contactId, int limit)
    {
        var rows = database.Query(
            $"SELECT {Columns} FROM messages WHERE conversation = $conversation ORDER BY seq DESC LIMIT $limit",
            Read, ("$conversation", database.Lookup("conversation", contactId)), ("$limit", limit));
        rows.Reverse();
        return [.. rows.Select(row => Row(row.Id, row.Message))];
    }

    /// <summary>
    /// The outgoing texts to <paramref name="contactId"/> among <paramref name="messageIds"/>: a receipt
    /// counts only for messages sent to the contact who sends it.
    /// </summary>
    public List<Guid> SentTo(string contactId, IEnumerable<Guid> messageIds) =>
        [.. messageIds.Distinct().Where(id => Outgoing(id).Any(row => row.Message.ContactId == contactId && row.Message.Kind == MessageKind.Text))];

    /// <summary>Records that the contact's device has <paramref name="messageId"/> (a time once set never moves).</summary>
    public void MarkDelivered(Guid messageId, DateTimeOffset at) =>
        Update(messageId, m => m.DeliveredAt is null ? m with { DeliveredAt = at.ToUnixTimeMilliseconds() } : m);

    /// <summary>Records that <paramref name="messageId"/> was read (theirs: shown here; ours: by the contact); a read message was delivered too.</summary>
    public void MarkRead(Guid messageId, DateTimeOffset at) => Update(messageId, m => m.ReadAt is null
        ? m with { ReadAt = at.ToUnixTimeMilliseconds(), DeliveredAt = m.DeliveredAt ?? at.ToUnixTimeMilliseconds() }
        : m);

    /// <summary>The incoming texts from a contact not read yet, oldest first (opens the conversation's rows).</summary>
    public List<Guid> Unread(string contactId) =>
        [.. database.Query($"SELECT {Columns} FROM messages WHERE conversation = $conversation ORDER BY seq", Read,
                ("$conversation", database.Lookup("conversation", contactId)))
            .Where(row => IsUnread(row.Message)).Select(row => row.Message.MessageId)];

    /// <summary>How many incoming texts are unread, per contact (opens every row: no count is kept in the clear).</summary>
    public Dictionary<string, int> UnreadCounts() =>
        database.Query($"SELECT {Columns} FROM messages", Read).Where(row => IsUnread(row.Message))
            .GroupBy(row => row.Message.ContactId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

    /// <summary>The incoming item stored from envelope <paramref name="messageId"/>, or null.</summary>
    public MessageRow? FindIncoming(Guid messageId) =>
        WithMessageId(messageId).Where(r => r.Message.Direction == MessageDirection.In).Select(row => Row(row.Id, row.Message)).FirstOrDefault();

    private static bool IsUnread(StoredMessage message) =>
        message is { Direction: MessageDirection.In, Kind: MessageKind.Text, ReadAt: null };

    private void Update(Guid messageId, Func<StoredMessage, StoredMessage> change)
    {
        foreach (var row in WithMessageId(messageId))
        {
            var changed = change(row.Message);
            if (changed != row.Message)
            {
                Write(row.Id, row.Conversation, row.Seq, row.Version + 1, changed, insert: false);
            }
        }
    }

    /// <summary>The outgoing item sent with envelope <paramref name="messageId"/>, or null.</summary>
    public MessageRow? FindOutgoing(Guid messageId) => Outgoing(messageId).Select(row => Row(row.Id, row.Message)).FirstOrDefault();

    /// <summary>Sets the delivery status of an outgoing item.</summary>
    public void SetStatus(Guid messageId, MessageStatus status)
    {
        foreach (var row in Outgoing(messageId))
        {
            Write(row.Id, row.Conversation, row.Seq, row.Version + 1, row.Message with { Status = status }, insert: false);
        }
    }

    /// <summary>Gives an outgoing item the id of the envelope that now carries it, and a status.</summary>
    public void Reassign(Guid messageId, Guid newMessageId, MessageStatus status)
    {
        foreach (var row in Outgoing(messageId))
        {
            Write(row.Id, row.Conversation, row.Seq, row.Version + 1, row.Message with { MessageId = newMessageId, Status = status }, insert: false);
        }
    }

    /// <summary>
    /// Deletes items older than <paramref name="before"/> kept under ids not in <paramref name="known"/>
    /// (strangers' failed items, and those from nobody proven).
    /// </summary>
    public void DeleteStrangersBefore(DateTimeOffset before, ISet<string> known)
    {
        var knownConversations = known.Select(id => Convert.ToHexString(database.Lookup("conversation", id))).ToHashSet();
        var strangers = database.Query("SELECT DISTINCT conversation FROM messages", reader => (byte[])reader[0])
            .Where(conversation => !knownConversations.Contains(Convert.ToHexString(conversation)));
        foreach (var conversation in strangers)
        {
            foreach (var row in database.Query($"SELECT {Columns} FROM messages WHERE conversation = $conversation", Read, ("$conversation", conversation)))
            {
                if (ProfileDatabase.FromMs(row.Message.At) < before)
                {
                    Delete(row.Id);
                }
            }
        }
    }

    /// <summary>Deletes the history kept under an account id (a declined request's), overwriting it.</summary>
    public void DeleteHistory(string contactId)
    {
        var conversation = database.Lookup("conversation", contactId);
        foreach (var id in database.Query("SELECT id FROM messages WHERE conversation = $conversation", reader => reader.GetInt64(0), ("$conversation", conversation)))
        {
            expiries.Delete(id.ToString(CultureInfo.InvariantCulture));
        }

        database.Execute("DELETE FROM messages WHERE conversation = $conversation", ("$conversation", conversation));
    }

    /// <summary>Deletes (overwriting) every item whose time ran out by <paramref name="now"/>; returns how many.</summary>
    public int DeleteExpired(DateTimeOffset now)
    {
        var limit = now.ToUnixTimeMilliseconds();
        var deleted = 0;
        foreach (var (key, value) in expiries.All())
        {
            if (BinaryPrimitives.ReadInt64BigEndian(value) <= limit)
            {
                Delete(long.Parse(key, CultureInfo.InvariantCulture));
                deleted++;
            }
        }

        return deleted;
    }

    /// <summary>Every row, opened, for <see cref="ProfileDatabase.ChangePassphrase"/>.</summary>
    internal List<(long Id, long Seq, StoredMessage Message)> AllForResealing() =>
        [.. database.Query($"SELECT {Columns} FROM messages", Read).Select(row => (row.Id, row.Seq, row.Message))];

    /// <summary>Writes <paramref name="rows"/> again under the current store key, in place of every row.</summary>
    internal void Reseal(List<(long Id, long Seq, StoredMessage Message)> rows)
    {
        database.Execute("DELETE FROM messages");
        foreach (var (id, seq, message) in rows)
        {
            Write(id, database.Lookup("conversation", message.ContactId), seq, 1, message, insert: true);
        }
    }

    private static MessageRow Row(long id, StoredMessage m) => new(
        id, m.ContactId, m.Direction, m.Kind, m.Status, m.MessageId, m.Body,
        m.SentAt is { } sent ? ProfileDatabase.FromMs(sent) : null, ProfileDatabase.FromMs(m.At),
        m.ExpiresAt is { } expires ? ProfileDatabase.FromMs(expires) : null,
        m.DeliveredAt is { } delivered ? ProfileDatabase.FromMs(delivered) : null, m.ReadAt is { } read ? ProfileDatabase.FromMs(read) : null, m.Author, m.AttachmentId);

    // The associated data binds the sealed value to every other column of its row.
    private static byte[] RowKey(long id, byte[] conversation, long seq, byte[] messageRef)
    {
        var key = new byte[8 + conversation.Length + 8 + messageRef.Length];
        BinaryPrimitives.WriteInt64BigEndian(key, id);
        conversation.CopyTo(key, 8);
        BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(8 + conversation.Length), seq);
        messageRef.CopyTo(key, 16 + conversation.Length);
        return key;
    }

    private byte[] MessageRef(Guid messageId) => database.Lookup(Table, messageId.ToString());

    private IEnumerable<(long Id, byte[] Conversation, long Seq, long Version, StoredMessage Message)> Outgoing(Guid messageId) =>
        WithMessageId(messageId).Where(r => r.Message.Direction == MessageDirection.Out);

    // The ref is a truncated keyed hash: the opened row still has to name the id.
    private IEnumerable<(long Id, byte[] Conversation, long Seq, long Version, StoredMessage Message)> WithMessageId(Guid messageId) =>
        database.Query($"SELECT {Columns} FROM messages WHERE ref = $ref", Read, ("$ref", MessageRef(messageId)))
            .Where(r => r.Message.MessageId == messageId);

    private void Delete(long id)
    {
        database.Execute("DELETE FROM messages WHERE id = $id", ("$id", id));
        expiries.Delete(id.ToString(CultureInfo.InvariantCulture));
    }

    private void Write(long id, byte[] conversation, long seq, long version, StoredMessage message, bool insert)
    {
        var messageRef = MessageRef(message.MessageId);
        var json = StoreJson.Write(message);
        var sealedValue = database.SealRow(Table, RowKey(id, conversation, seq, messageRef), version, json);
        Array.Clear(json);
        database.Execute(
            insert
                ? $"INSERT INTO messages ({Columns}) VALUES ($id, $conversation, $seq, $ref, $version, $sealed)"
                : "UPDATE messages SET ref = $ref, version = $version, sealed = $sealed WHERE id = $id AND conversation = $conversation AND seq = $seq",
            ("$id", id), ("$conversation", conversation), ("$seq", seq), ("$ref", messageRef), ("$version", version), ("$sealed", sealedValue));
    }

    private (long Id, byte[] Conversation, long Seq, long Version, StoredMessage Message) Read(SqliteDataReader reader)
    {
        var id = reader.GetInt64(0);
        var conversation = (byte[])reader[1];
        var seq = reader.GetInt64(2);
        var version = reader.GetInt64(4);
        var json = database.OpenRow(Table, RowKey(id, conversation, seq, (byte[])reader[3]), version, (byte[])reader[5]);
        try
        {
            return (id, conversation, seq, version, StoreJson.Read<StoredMessage>(json, Table));
        }
        finally
        {
            Array.Clear(json);
        }
    }
}
