namespace Pigeon.Grains.Abstractions.Mailboxes;

/// <summary>
/// One recipient device's queue of envelopes in transit, keyed by <see cref="MailboxKeys.Of"/> (the
/// recipient's account id and device id). Envelopes are
/// opaque ciphertext; each is a row in PostgreSQL from its deposit until it is acknowledged or expires.
/// Delivery is at least once: an envelope is returned by every receive until it is acknowledged.
/// </summary>
[Alias("pigeon.mailbox")]
public interface IMailboxGrain : IGrainWithStringKey
{
    /// <summary>
    /// Stores an envelope and returns once it is committed to the database. Idempotent on
    /// <paramref name="messageId"/>: a repeat stores nothing and returns the first receipt, also after
    /// the envelope was acknowledged (within the retention of acknowledged ids). Raises
    /// <see cref="MailboxQuotaExceededException"/> when the mailbox is full. <paramref name="lifetime"/>
    /// shortens how long the envelope is kept (a disappearing-message timer asks for it); it is never kept
    /// longer than the mailbox's <c>EnvelopeTtl</c>, which also applies without one.
    /// </summary>
    [Alias("deposit")]
    Task<DepositReceipt> DepositAsync(Guid messageId, byte[] payload, TimeSpan? lifetime = null);

    /// <summary>
    /// <see cref="DepositAsync"/> for the identified route, where the depositor is known: raises
    /// <see cref="SenderPendingLimitException"/> when this mailbox already holds as many unacknowledged
    /// envelopes from <paramref name="sender"/> as one sender may leave, so that one stranger cannot fill
    /// a mailbox for everyone else. Counted in the activation's memory; the sender is not stored.
    /// </summary>
    [Alias("deposit-from")]
    Task<DepositReceipt> DepositFromAsync(string sender, Guid messageId, byte[] payload, TimeSpan? lifetime = null);

    /// <summary>
    /// Returns up to <paramref name="max"/> unacknowledged envelopes with a sequence number above
    /// <paramref name="after"/>, oldest first. When there are none, waits up to <paramref name="wait"/>
    /// (capped at the configured maximum, at most 25 s) for a deposit and returns as soon as one commits;
    /// returns an empty result when the wait ends. Cancelling <paramref name="cancellationToken"/> ends
    /// the wait with an empty result too (what a caller that waits for the callee's answer receives).
    /// So does the activation starting to deactivate (after a silo death, on a shutdown): the caller's
    /// next receive reaches the next activation instead of holding this one for the rest of the wait.
    /// </summary>
    [Alias("receive")]
    Task<MailboxBatch> ReceiveAsync(long after, int max, TimeSpan wait, CancellationToken cancellationToken = default);

    /// <summary>Deletes the envelopes with these message ids for good; returns how many were deleted.</summary>
    [Alias("ack")]
    Task<int> AckAsync(IReadOnlyList<Guid> messageIds);

    /// <summary>
    /// Acknowledges <paramref name="acknowledge"/> as <see cref="AckAsync"/> does, then receives as
    /// <see cref="ReceiveAsync"/> does: a client that acknowledges on its next poll saves a request per
    /// batch. The acknowledgement is committed before the receive starts, and its count is reported in
    /// <see cref="MailboxBatch.Acknowledged"/>, also when the wait is cancelled.
    /// </summary>
    [Alias("ack-and-receive")]
    Task<MailboxBatch> AckAndReceiveAsync(
        IReadOnlyList<Guid> acknowledge, long after, int max, TimeSpan wait, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes every envelope of the mailbox, and the ids of those acknowledged, for good: its device was
    /// removed (<see cref="Accounts.IAccountGrain.SetDeviceListAsync"/>). Ends waiting receives; returns
    /// how many envelopes were deleted.
    /// </summary>
    [Alias("purge")]
    Task<long> PurgeAsync();

    /// <summary>The mailbox's depth, size and how many receives are waiting on it.</summary>
    [Alias("get-status")]
    Task<MailboxStatus> GetStatusAsync();
}
