namespace Pigeon.Messaging.Store;

/// <summary>
/// Sealed table <c>outbox</c>: ciphertexts waiting to be deposited, one row per envelope id and
/// recipient device, oldest first.
/// </summary>
internal sealed class OutboxTable(ProfileDatabase database, SealedTable table)
{
    private static long s_lastOrder;

    /// <summary>Queues a ciphertext for deposit.</summary>
    public void Add(OutboxRow row, DateTimeOffset now) => table.Put(Key(row), StoreJson.Write(
        new StoredOutbox(row.MessageId, row.Recipient, row.Payload, NextOrder(now), row.ExpiresAt?.ToUnixTimeMilliseconds(), row.DeviceId, row.Inner)));

    /// <summary>Every queued ciphertext, oldest first.</summary>
    public List<OutboxRow> All() =>
    [
        .. table.All().Select(row => StoreJson.Read<StoredOutbox>(row.Value, table.Name)).OrderBy(o => o.Order)
            .Select(o => new OutboxRow(o.MessageId, o.Recipient, o.Payload, o.ExpiresAt is { } expires ? ProfileDatabase.FromMs(expires) : null, o.DeviceId, o.Inner)),
    ];

    /// <summary>Removes a deposited ciphertext and marks its history item sent.</summary>
    public void Complete(OutboxRow row) => database.InTransaction(() =>
    {
        table.Delete(Key(row));
        database.Messages.SetStatus(row.MessageId, MessageStatus.Sent);
    });

    /// <summary>Removes one queued ciphertext (its device left, or the server refused it for good).</summary>
    public void Remove(OutboxRow row) => table.Delete(Key(row));

    /// <summary>Drops every envelope still queued for <paramref name="recipient"/>.</summary>
    public void RemoveAllFor(string recipient)
    {
        foreach (var row in All().Where(r => r.Recipient == recipient))
        {
            Remove(row);
        }
    }

    private static string Key(OutboxRow row) => $"{row.MessageId:D}/{row.Recipient}/{row.DeviceId}";

    // The order of queued ciphertexts: the clock in ticks, and always later than the last one this
    // process queued, so two in the same tick keep their order.
    private static long NextOrder(DateTimeOffset now)
    {
        while (true)
        {
            var last = Interlocked.Read(ref s_lastOrder);
            var next = Math.Max(last + 1, now.UtcTicks);
            if (Interlocked.CompareExchange(ref s_lastOrder, next, last) == last)
            {
                return next;
            }
        }
    }
}
