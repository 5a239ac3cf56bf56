using System.Collections.Concurrent;

namespace Pigeon.Bench.Stats;

/// <summary>What the ledger concluded about the messages it saw.</summary>
/// <param name="Sent">Messages whose deposit was attempted.</param>
/// <param name="Delivered">Messages received at least once.</param>
/// <param name="Lost">Messages deposited with a 200 but never received.</param>
/// <param name="Duplicates">Receipts of a message already received.</param>
/// <param name="Unexpected">Receipts of a message id this run never sent.</param>
/// <param name="FailedDeposits">Messages whose deposit failed (no 200).</param>
/// <param name="DeliveredAfterFailure">Messages delivered although their deposit reported a failure (committed, then the answer was lost).</param>
public sealed record DeliveryCounts(
    long Sent, long Delivered, long Lost, long Duplicates, long Unexpected, long FailedDeposits, long DeliveredAfterFailure);

/// <summary>
/// Accounts for every message by id: sent, then either failed or committed, then received once.
/// A message may arrive before its deposit's answer does, so it is registered before it is sent.
/// </summary>
public sealed class DeliveryLedger
{
    private enum State { Pending, Failed, Delivered }

    private sealed class Entry(long sentAt, bool measured)
    {
        public long SentAt { get; } = sentAt;

        public bool Measured { get; } = measured;

        public State State { get; set; }

        public bool Committed { get; set; }

        public bool FailedBeforeDelivery { get; set; }

        public TaskCompletionSource? Waiter { get; set; }
    }

    private readonly ConcurrentDictionary<Guid, Entry> _entries = new();
    private long _sent, _delivered, _duplicates, _unexpected, _failed, _deliveredAfterFailure;

    /// <summary>Messages sent and not yet received nor failed.</summary>
    public long Outstanding => Interlocked.Read(ref _sent) - Interlocked.Read(ref _delivered) - Interlocked.Read(ref _failed)
        + Interlocked.Read(ref _deliveredAfterFailure);

    /// <summary>Messages received at least once.</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>
    /// Registers a message about to be sent; <paramref name="sentAt"/> is the timestamp latency counts
    /// from (the intended start in an open loop) and <paramref name="measured"/> says whether its latency
    /// belongs in the results (false during a warm-up).
    /// </summary>
    public void Sent(Guid messageId, long sentAt, bool measured = true)
    {
        if (!_entries.TryAdd(messageId, new Entry(sentAt, measured)))
        {
            throw new InvalidOperationException($"Message id {messageId} was sent twice.");
        }

        Interlocked.Increment(ref _sent);
    }

    /// <summary>Registers a message and returns a task that completes when it is received (closed loop).</summary>
    public Task SentAndAwaited(Guid messageId, long sentAt, bool measured = true)
    {
        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var entry = new Entry(sentAt, measured) { Waiter = waiter };
        if (!_entries.TryAdd(messageId, entry))
        {
            throw new InvalidOperationException($"Message id {messageId} was sent twice.");
        }

        Interlocked.Increment(ref _sent);
        return waiter.Task;
    }

    /// <summary>Marks a message's deposit as answered with a 200.</summary>
    public void Committed(Guid messageId)
    {
        if (_entries.TryGetValue(messageId, out var entry))
        {
            lock (entry)
            {
                entry.Committed = true;
            }
        }
    }

    /// <summary>Marks a message's deposit as failed; it will not count as lost.</summary>
    public void Failed(Guid messageId)
    {
        if (!_entries.TryGetValue(messageId, out var entry))
        {
            return;
        }

        lock (entry)
        {
            if (entry.State == State.Pending)
            {
                entry.State = State.Failed;
                Interlocked.Increment(ref _failed);
                entry.Waiter?.TrySetResult();
            }
        }
    }

    /// <summary>
    /// Records a receipt at <paramref name="receivedAt"/>; returns the latency in timestamp units when
    /// this is the first receipt of a measured message, otherwise null.
    /// </summary>
    public long? Received(Guid messageId, long receivedAt)
    {
        if (!_entries.TryGetValue(messageId, out var entry))
        {
            Interlocked.Increment(ref _unexpected);
            return null;
        }

        TaskCompletionSource? waiter;
        lock (entry)
        {
            switch (entry.State)
            {
                case State.Delivered:
                    Interlocked.Increment(ref _duplicates);
                    return null;
                case State.Failed:
                    entry.FailedBeforeDelivery = true;
                    Interlocked.Increment(ref _deliveredAfterFailure);
                    break;
            }

            entry.State = State.Delivered;
            waiter = entry.Waiter;
        }

        Interlocked.Increment(ref _delivered);
        waiter?.TrySetResult();
        return entry.Measured ? receivedAt - entry.SentAt : null;
    }

    /// <summary>The counts now; anything committed and not received counts as lost.</summary>
    public DeliveryCounts Count()
    {
        long lost = 0;
        foreach (var entry in _entries.Values)
        {
            lock (entry)
            {
                if (entry.State == State.Pending && entry.Committed)
                {
                    lost++;
                }
            }
        }

        return new DeliveryCounts(
            Interlocked.Read(ref _sent), Interlocked.Read(ref _delivered), lost, Interlocked.Read(ref _duplicates),
            Interlocked.Read(ref _unexpected), Interlocked.Read(ref _failed), Interlocked.Read(ref _deliveredAfterFailure));
    }
}
