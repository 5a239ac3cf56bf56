namespace Pigeon.Messaging.Store;

/// <summary>Table <c>outbox</c>: ciphertexts committed locally and not yet deposited.</summary>
internal sealed class OutboxTable(ProfileDatabase database)
{
    /// <summary>Queues a ciphertext for deposit.</summary>
    public void Add(OutboxRow row, DateTimeOffset now) => database.Execute(
        "INSERT INTO outbox (message_id, recipient, payload, created_at) VALUES ($id, $recipient, $payload, $now)",
        ("$id", row.MessageId.ToString()), ("$recipient", row.Recipient), ("$payload", row.Payload), ("$now", now.ToUnixTimeMilliseconds()));

    /// <summary>Every queued ciphertext, oldest first.</summary>
    public List<OutboxRow> All() => database.Query(
        "SELECT message_id, recipient, payload FROM outbox ORDER BY created_at, rowid",
        reader => new OutboxRow(Guid.Parse(reader.GetString(0)), reader.GetString(1), (byte[])reader[2]));

    /// <summary>Removes a deposited ciphertext and marks its history item sent.</summary>
    public void Complete(Guid messageId) => database.InTransaction(() =>
    {
        Remove(messageId);
        database.Messages.SetStatus(messageId, MessageStatus.Sent);
    });

    /// <summary>Removes a ciphertext the server refused for good (its history item says failed).</summary>
    public void Remove(Guid messageId) => database.Execute("DELETE FROM outbox WHERE message_id = $id", ("$id", messageId.ToString()));

    /// <summary>Drops every envelope still queued for <paramref name="recipient"/>.</summary>
    public void RemoveAllFor(string recipient) => database.Execute("DELETE FROM outbox WHERE recipient = $recipient", ("$recipient", recipient));
}
