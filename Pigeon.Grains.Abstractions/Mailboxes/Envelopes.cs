namespace Pigeon.Grains.Abstractions.Mailboxes;

/// <summary>Proof that an envelope is durably stored.</summary>
/// <param name="MessageId">The client-chosen message id.</param>
/// <param name="Sequence">The envelope's position: increasing within a mailbox, the cursor for receives.</param>
/// <param name="DepositedAt">When the envelope was first committed.</param>
[GenerateSerializer, Immutable, Alias("pigeon.deposit-receipt")]
public sealed record DepositReceipt(
    [property: Id(0)] Guid MessageId,
    [property: Id(1)] long Sequence,
    [property: Id(2)] DateTimeOffset DepositedAt);

/// <summary>An envelope in transit: opaque bytes the server routes but cannot read.</summary>
/// <param name="MessageId">The client-chosen message id, by which the recipient acknowledges and dedupes.</param>
/// <param name="Sequence">The envelope's position within its mailbox.</param>
/// <param name="Payload">The ciphertext.</param>
/// <param name="DepositedAt">When the envelope was committed.</param>
[GenerateSerializer, Immutable, Alias("pigeon.envelope")]
public sealed record Envelope(
    [property: Id(0)] Guid MessageId,
    [property: Id(1)] long Sequence,
    [property: Id(2)] byte[] Payload,
    [property: Id(3)] DateTimeOffset DepositedAt);

/// <summary>The envelopes a receive returns, oldest first; empty when the wait ended with nothing new.</summary>
/// <param name="Envelopes">The envelopes.</param>
/// <param name="HasMore">True when more envelopes were pending than <c>max</c> allowed.</param>
/// <param name="Acknowledged">How many envelopes the call acknowledged before receiving (see <c>AckAndReceiveAsync</c>).</param>
[GenerateSerializer, Immutable, Alias("pigeon.receive-result")]
public sealed record MailboxBatch(
    [property: Id(0)] IReadOnlyList<Envelope> Envelopes,
    [property: Id(1)] bool HasMore,
    [property: Id(2)] int Acknowledged = 0)
{
    /// <summary>A result with no envelopes.</summary>
    public static MailboxBatch Empty { get; } = new([], false);
}

/// <summary>A mailbox's state as counted by its grain.</summary>
/// <param name="Envelopes">Envelopes stored and not acknowledged (expired ones may be counted until purged).</param>
/// <param name="Bytes">Their total payload size.</param>
/// <param name="WaitingReceives">Receives currently waiting for a deposit.</param>
[GenerateSerializer, Immutable, Alias("pigeon.mailbox-status")]
public sealed record MailboxStatus(
    [property: Id(0)] long Envelopes,
    [property: Id(1)] long Bytes,
    [property: Id(2)] int WaitingReceives);

/// <summary>A deposit was refused because the mailbox holds as many envelopes or bytes as it may.</summary>
[GenerateSerializer, Alias("pigeon.mailbox-quota-exceeded")]
public sealed class MailboxQuotaExceededException : Exception
{
    public MailboxQuotaExceededException() : base("The recipient's mailbox is full.") { }

    public MailboxQuotaExceededException(string message) : base(message) { }

    public MailboxQuotaExceededException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception naming the limit that was reached.</summary>
    public MailboxQuotaExceededException(long maxEnvelopes, long maxBytes)
        : base($"The recipient's mailbox is full (limits: {maxEnvelopes} envelopes, {maxBytes} bytes).")
    {
        MaxEnvelopes = maxEnvelopes;
        MaxBytes = maxBytes;
    }

    /// <summary>The mailbox's envelope limit.</summary>
    [Id(0)]
    public long MaxEnvelopes { get; init; }

    /// <summary>The mailbox's byte limit.</summary>
    [Id(1)]
    public long MaxBytes { get; init; }
}

/// <summary>A deposit on the identified route was refused: the mailbox holds as many unacknowledged envelopes from this sender as it takes.</summary>
[GenerateSerializer, Alias("pigeon.sender-pending-limit")]
public sealed class SenderPendingLimitException : Exception
{
    public SenderPendingLimitException() : base("The mailbox holds as many envelopes from this sender as it takes.") { }

    public SenderPendingLimitException(string message) : base(message) { }

    public SenderPendingLimitException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception naming the limit.</summary>
    public SenderPendingLimitException(int limit)
        : base($"The recipient holds {limit} unacknowledged envelopes from this sender, the most one sender may leave before being a contact.")
    {
        Limit = limit;
    }

    /// <summary>The limit per sender.</summary>
    [Id(0)]
    public int Limit { get; init; }
}
