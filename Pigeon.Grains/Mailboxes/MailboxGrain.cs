using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Pigeon.Grains.Abstractions.Mailboxes;
using Pigeon.Hosting;

namespace Pigeon.Grains.Mailboxes;

/// <summary>
/// A recipient's mailbox. Envelopes are rows in PostgreSQL; the grain keeps counters, counted from the
/// table by its first call, and the newest envelopes it committed (<see cref="RecentEnvelopes"/>), so
/// neither a deposit nor a receive that keeps up reads the table. Reentrant: deposits and
/// acknowledgements interleave so they can share a group commit, and a waiting receive does not block
/// them. Every field is touched only on the grain's turn-based scheduler.
/// </summary>
[Reentrant]
internal sealed partial class MailboxGrain(
    EnvelopeStore store,
    EnvelopeWriter writer,
    IOptions<MailboxOptions> options,
    [FromKeyedServices(PigeonTime.ServiceKey)] TimeProvider time,
    ILogger<MailboxGrain> logger) : Grain, IMailboxGrain
{
    private readonly Dictionary<Guid, Task<DepositReceipt>> _depositsInFlight = [];
    // Identified deposits not yet acknowledged, by sender, and the sender of each: in memory only, so
    // that no row names a sender. A new activation starts counting afresh, which still bounds a flood.
    private readonly Dictionary<string, HashSet<Guid>> _pendingBySender = new(StringComparer.Ordinal);
    private readonly Dictionary<Guid, string> _senderOf = [];
    private readonly List<CommittingDeposit> _committing = [];
    private readonly RecentEnvelopes _recent = new(options.Value.RecentEnvelopesHeld, options.Value.RecentEnvelopeBytesHeld);
    private TaskCompletionSource _nextDeposit = NewSignal();
    // Completed from any thread when the activation starts deactivating (MailboxDeactivations).
    private readonly TaskCompletionSource _deactivating = NewSignal();
    private long _envelopes;
    private long _bytes;
    private long _reservedEnvelopes;
    private long _reservedBytes;
    private long _lastSequence;
    private int _waitingReceives;
    private Task? _counting;

    private string MailboxId => this.GetPrimaryKeyString();

    private MailboxOptions Limits => options.Value;

    public async Task<DepositReceipt> DepositAsync(Guid messageId, byte[] payload, TimeSpan? lifetime = null)
    {
        ArgumentNullException.ThrowIfNull(payload);
        if (payload.Length > Limits.MaxPayloadBytes)
        {
            throw new ArgumentException($"The payload exceeds {Limits.MaxPayloadBytes} bytes.", nameof(payload));
        }

        if (lifetime <= TimeSpan.Zero)
        {
            throw new ArgumentException("An envelope's lifetime must be positive.", nameof(lifetime));
        }

        await EnsureCountedAsync();
        // A repeat of a deposit still in flight shares its outcome rather than racing it.
        if (_depositsInFlight.TryGetValue(messageId, out var inFlight))
        {
            return await inFlight;
        }

        // Never longer than the mailbox keeps anything.
        var kept = lifetime is { } asked && asked < Limits.EnvelopeTtl ? asked : Limits.EnvelopeTtl;
        var deposit = DepositOnceAsync(messageId, payload, kept);
        _depositsInFlight[messageId] = deposit;
        try
        {
            return await deposit;
        }
        finally
        {
            _depositsInFlight.Remove(messageId);
        }
    }

    public async Task<DepositReceipt> DepositFromAsync(string sender, Guid messageId, byte[] payload, TimeSpan? lifetime = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(sender);
        if (!_pendingBySender.TryGetValue(sender, out var pending))
        {
            pending = [];
            _pendingBySender[sender] = pending;
        }

        // Counted before the commit, so that concurrent deposits from one sender cannot overshoot.
        if (!pending.Contains(messageId) && pending.Count >= Limits.MaxPendingPerIdentifiedSender)
        {
            LogSenderLimited(MailboxId, Limits.MaxPendingPerIdentifiedSender);
            throw new SenderPendingLimitException(Limits.MaxPendingPerIdentifiedSender);
        }

        var added = pending.Add(messageId);
        try
        {
            var receipt = await DepositAsync(messageId, payload, lifetime);
            _senderOf[messageId] = sender;
            return receipt;
        }
        catch when (added)
        {
            Forget(sender, messageId);
            throw;
        }
    }

    private void Forget(string sender, Guid messageId)
    {
        if (_pendingBySender.TryGetValue(sender, out var pending) && pending.Remove(messageId) && pending.Count == 0)
        {
            _pendingBySender.Remove(sender);
        }
    }

    public async Task<MailboxBatch> ReceiveAsync(long after, int max, TimeSpan wait, CancellationToken cancellationToken)
    {
        try
        {
            return await ReceiveOrWaitAsync(after, max, wait, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // A cancelled receive ends like one whose wait ran out, so a caller that waits for the
            // answer (the gateway, after losing a silo) learns what an acknowledgement on it deleted.
            return MailboxBatch.Empty;
        }
    }

    /// <summary>
    /// Ends every waiting receive with what it has (nothing), as their wait running out would, and
    /// keeps new ones from waiting: the activation is deactivating, and the callers' next receive
    /// reaches the next one. Safe from any thread.
    /// </summary>
    internal void EndWaits() => _deactivating.TrySetResult();

    private async Task<MailboxBatch> ReceiveOrWaitAsync(long after, int max, TimeSpan wait, CancellationToken cancellationToken)
    {
        await EnsureCountedAsync();
        after = Math.Max(after, 0);
        max = Math.Clamp(max, 1, Limits.MaxReceiveBatch);
        wait = wait < TimeSpan.Zero ? TimeSpan.Zero : wait > Limits.MaxWait ? Limits.MaxWait : wait;
        var deadline = time.GetUtcNow() + wait;

        // Sequence numbers up to here were looked for and are gone (acknowledged or expired).
        var searchedThrough = after;
        while (true)
        {
            ApplyCommittedDeposits();
            var signal = _nextDeposit;
            if (_recent.TryRead(after, max, time.GetUtcNow(), out var held, out var moreHeld))
            {
                if (held.Count > 0)
                {
                    LogDelivering(MailboxId, held.Count);
                    return new MailboxBatch(held, moreHeld);
                }
            }
            else if (_envelopes > 0 && _lastSequence > searchedThrough)
            {
                var lastBeforeRead = _lastSequence;
                var found = await store.ReadAsync(MailboxId, after, max + 1, time.GetUtcNow(), cancellationToken);
                if (found.Count > 0)
                {
                    var hasMore = found.Count > max;
                    if (hasMore)
                    {
                        found.RemoveAt(max);
                    }

                    LogDelivering(MailboxId, found.Count);
                    return new MailboxBatch(found, hasMore);
                }

                searchedThrough = lastBeforeRead;
                continue;
            }

            var remaining = deadline - time.GetUtcNow();
            if (remaining <= TimeSpan.Zero || _deactivating.Task.IsCompleted)
            {
                return MailboxBatch.Empty;
            }

            _waitingReceives++;
            try
            {
                await Task.WhenAny(signal.Task, _deactivating.Task).WaitAsync(remaining, time, cancellationToken);
            }
            catch (TimeoutException)
            {
                return MailboxBatch.Empty;
            }
            finally
            {
                _waitingReceives--;
            }
        }
    }

    public async Task<int> AckAsync(IReadOnlyList<Guid> messageIds)
    {
        ArgumentNullException.ThrowIfNull(messageIds);
        if (messageIds.Count > Limits.MaxAckBatch)
        {
            throw new ArgumentException($"At most {Limits.MaxAckBatch} message ids may be acknowledged at once.", nameof(messageIds));
        }

        if (messageIds.Count == 0)
        {
            return 0;
        }

        await EnsureCountedAsync();
        var distinct = messageIds.ToHashSet();
        var (count, bytes) = await writer.AcknowledgeAsync(new EnvelopesToAcknowledge(MailboxId, [.. distinct]));
        _envelopes = Math.Max(0, _envelopes - count);
        _bytes = Math.Max(0, _bytes - bytes);
        _recent.Remove(distinct);
        foreach (var id in distinct)
        {
            if (_senderOf.Remove(id, out var sender))
            {
                Forget(sender, id);
            }
        }

        LogAcknowledged(MailboxId, count);
        return (int)count;
    }

    public async Task<MailboxBatch> AckAndReceiveAsync(
        IReadOnlyList<Guid> acknowledge, long after, int max, TimeSpan wait, CancellationToken cancellationToken)
    {
        var acknowledged = await AckAsync(acknowledge);
        var result = await ReceiveAsync(after, max, wait, cancellationToken);
        return result with { Acknowledged = acknowledged };
    }

    public async Task<long> PurgeAsync()
    {
        var (count, _) = await store.PurgeMailboxAsync(MailboxId, CancellationToken.None);
        (_envelopes, _bytes) = (0, 0);
        _recent.Reset(_lastSequence);
        _pendingBySender.Clear();
        _senderOf.Clear();
        // Counted afresh by the next call, should a deposit that was committing still land.
        _counting = null;
        EndWaits();
        DeactivateOnIdle();
        LogPurged(MailboxId, count);
        return count;
    }

    public async Task<MailboxStatus> GetStatusAsync()
    {
        await EnsureCountedAsync();
        return new MailboxStatus(_envelopes, _bytes, _waitingReceives);
    }

    // The counters are read from the table by the first call rather than at activation, so a
    // database outage fails that call (with a retryable error) instead of the activation.
    private Task EnsureCountedAsync()
    {
        if (_counting is { IsCompletedSuccessfully: true })
        {
            return Task.CompletedTask;
        }

        if (_counting is null || _counting.IsFaulted || _counting.IsCanceled)
        {
            _counting = CountAsync();
        }

        return _counting;

        async Task CountAsync()
        {
            var totals = await store.GetTotalsAsync(MailboxId, time.GetUtcNow(), CancellationToken.None);
            (_envelopes, _bytes, _lastSequence) = (totals.Envelopes, totals.Bytes, totals.LastSequence);
            // Whatever commits from now on passes through this grain and is held.
            _recent.Reset(totals.LastSequence);
        }
    }

    private async Task<DepositReceipt> DepositOnceAsync(Guid messageId, byte[] payload, TimeSpan lifetime)
    {
        if (WouldExceedQuota(payload.Length))
        {
            // A retry of an envelope stored earlier is answered with its receipt, full or not.
            if (await store.FindAsync(MailboxId, messageId, CancellationToken.None) is { } earlier)
            {
                return earlier;
            }

            // The counters may include envelopes that expired since: drop those and look again.
            await store.PurgeExpiredAsync(MailboxId, time.GetUtcNow(), CancellationToken.None);
            var totals = await store.GetTotalsAsync(MailboxId, time.GetUtcNow(), CancellationToken.None);
            (_envelopes, _bytes) = (totals.Envelopes, totals.Bytes);
            if (WouldExceedQuota(payload.Length))
            {
                LogQuotaRefused(MailboxId, _envelopes, _bytes);
                throw new MailboxQuotaExceededException(Limits.MaxEnvelopes, Limits.MaxBytes);
            }
        }

        // Reserve room first: other deposits interleave while this one awaits its commit.
        _reservedEnvelopes++;
        _reservedBytes += payload.Length;
        var envelope = new EnvelopeToStore(MailboxId, messageId, payload, lifetime);
        // The writer's task completes as soon as the commit is reported, before this continuation
        // runs; ApplyCommittedDeposits relies on that.
        var deposit = new CommittingDeposit(envelope, writer.WriteAsync(envelope));
        _committing.Add(deposit);
        try
        {
            await deposit.Write;
        }
        catch
        {
            _reservedEnvelopes--;
            _reservedBytes -= payload.Length;
            throw;
        }
        finally
        {
            _committing.Remove(deposit);
        }

        Apply(deposit);
        return deposit.Write.Result.Receipt;
    }

    // A receive first applies every deposit whose commit was reported but whose continuation has
    // not run yet: one commit can hold several of this mailbox's envelopes, and serving a later one
    // before an earlier one is applied would move the recipient's cursor past it.
    private void ApplyCommittedDeposits()
    {
        foreach (var deposit in _committing)
        {
            if (deposit.Write.IsCompletedSuccessfully)
            {
                Apply(deposit);
            }
        }
    }

    private void Apply(CommittingDeposit deposit)
    {
        if (deposit.Applied)
        {
            return;
        }

        deposit.Applied = true;
        var envelope = deposit.Envelope;
        _reservedEnvelopes--;
        _reservedBytes -= envelope.Payload.Length;
        var stored = deposit.Write.Result;
        if (!stored.Inserted)
        {
            return;
        }

        var receipt = stored.Receipt;
        _envelopes++;
        _bytes += envelope.Payload.Length;
        _lastSequence = Math.Max(_lastSequence, receipt.Sequence);
        _recent.Add(new Envelope(receipt.MessageId, receipt.Sequence, envelope.Payload, receipt.DepositedAt), receipt.DepositedAt + envelope.Lifetime);
        WakeWaitingReceives();
        LogDepositCommitted(MailboxId, receipt.MessageId, envelope.Payload.Length, receipt.Sequence);
    }

    private bool WouldExceedQuota(int size) =>
        _envelopes + _reservedEnvelopes + 1 > Limits.MaxEnvelopes
        || _bytes + _reservedBytes + size > Limits.MaxBytes;

    private void WakeWaitingReceives()
    {
        var signal = _nextDeposit;
        _nextDeposit = NewSignal();
        signal.TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed class CommittingDeposit(EnvelopeToStore envelope, Task<StoredEnvelope> write)
    {
        public EnvelopeToStore Envelope { get; } = envelope;

        public Task<StoredEnvelope> Write { get; } = write;

        public bool Applied { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Mailbox {MailboxId} refused an identified deposit: its sender has {Limit} unacknowledged")]
    private partial void LogSenderLimited(string mailboxId, int limit);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Deposit committed to mailbox {MailboxId}: message {MessageId}, {Size} bytes, sequence {Sequence}")]
    private partial void LogDepositCommitted(string mailboxId, Guid messageId, int size, long sequence);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Delivering {Count} envelopes from mailbox {MailboxId}")]
    private partial void LogDelivering(string mailboxId, int count);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Acknowledged {Count} envelopes in mailbox {MailboxId}")]
    private partial void LogAcknowledged(string mailboxId, long count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Purged mailbox {MailboxId} of a removed device ({Count} envelopes)")]
    private partial void LogPurged(string mailboxId, long count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Refused a deposit to full mailbox {MailboxId} ({Envelopes} envelopes, {Bytes} bytes)")]
    private partial void LogQuotaRefused(string mailboxId, long envelopes, long bytes);
}
