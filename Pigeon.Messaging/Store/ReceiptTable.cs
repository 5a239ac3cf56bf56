namespace Pigeon.Messaging.Store;

/// <summary>
/// When messages were delivered and read. The times live inside each message's sealed row
/// (<see cref="MessageTable"/>), so the file shows no receipt: for one of ours the contact's receipts
/// set them; for one of theirs, the read time is when it was shown here (what is unread has none).
/// </summary>
internal sealed class ReceiptTable(MessageTable messages)
{
    /// <summary>Records that the contact's device has <paramref name="messageId"/>.</summary>
    public void Delivered(Guid messageId, DateTimeOffset at) => messages.MarkDelivered(messageId, at);

    /// <summary>Records that <paramref name="messageId"/> was read; a read message was delivered too.</summary>
    public void Read(Guid messageId, DateTimeOffset at) => messages.MarkRead(messageId, at);

    /// <summary>The incoming texts from a contact not read yet, oldest first.</summary>
    public List<Guid> Unread(string contactId) => messages.Unread(contactId);

    /// <summary>How many incoming texts are unread, per contact.</summary>
    public Dictionary<string, int> UnreadCounts() => messages.UnreadCounts();
}
