using Pigeon.Grains.Abstractions.Mailboxes;

namespace Pigeon.Grains.Mailboxes;

/// <summary>
/// The newest envelopes of one mailbox, kept in memory by its grain as they commit, so that a
/// recipient who keeps up is served without reading the table. The tail is complete above
/// <see cref="CompleteAfter"/>: every unacknowledged envelope with a higher sequence number is held,
/// so a read from there needs no database. Bounded by count and bytes; past either bound the oldest
/// envelopes are let go and <see cref="CompleteAfter"/> moves up past them. Not thread-safe: its grain
/// touches it only on its own scheduler.
/// </summary>
internal sealed class RecentEnvelopes(int maxEnvelopes, long maxBytes)
{
    private readonly List<Held> _held = [];
    private long _bytes;

    /// <summary>Every unacknowledged envelope with a sequence number above this one is held.</summary>
    public long CompleteAfter { get; private set; } = long.MaxValue;

    /// <summary>Starts over: nothing is held, and the tail is complete above <paramref name="lastSequence"/>.</summary>
    public void Reset(long lastSequence)
    {
        _held.Clear();
        _bytes = 0;
        CompleteAfter = lastSequence;
    }

    /// <summary>Holds a just-committed envelope, letting the oldest go past the bounds.</summary>
    public void Add(Envelope envelope, DateTimeOffset expiresAt)
    {
        if (envelope.Sequence <= CompleteAfter)
        {
            return;
        }

        // Commits usually arrive in sequence order, so this is an append.
        var index = _held.Count;
        while (index > 0 && _held[index - 1].Envelope.Sequence > envelope.Sequence)
        {
            index--;
        }

        _held.Insert(index, new Held(envelope, expiresAt));
        _bytes += envelope.Payload.Length;
        while (_held.Count > 0 && (_held.Count > maxEnvelopes || _bytes > maxBytes))
        {
            LetGoOldest();
        }
    }

    /// <summary>Forgets acknowledged envelopes.</summary>
    public void Remove(IReadOnlyCollection<Guid> messageIds)
    {
        if (_held.Count == 0 || messageIds.Count == 0)
        {
            return;
        }

        var gone = messageIds as ISet<Guid> ?? new HashSet<Guid>(messageIds);
        _bytes -= _held.Where(h => gone.Contains(h.Envelope.MessageId)).Sum(h => (long)h.Envelope.Payload.Length);
        _held.RemoveAll(h => gone.Contains(h.Envelope.MessageId));
    }

    /// <summary>
    /// Reads up to <paramref name="max"/> unexpired envelopes after <paramref name="after"/>, oldest
    /// first, when the held tail covers that range; false when the table must be read instead.
    /// </summary>
    public bool TryRead(long after, int max, DateTimeOffset now, out List<Envelope> found, out bool hasMore)
    {
        found = [];
        hasMore = false;
        if (after < CompleteAfter)
        {
            return false;
        }

        foreach (var held in _held)
        {
            if (held.Envelope.Sequence <= after || held.ExpiresAt <= now)
            {
                continue;
            }

            if (found.Count == max)
            {
                hasMore = true;
                break;
            }

            found.Add(held.Envelope);
        }

        return true;
    }

    private void LetGoOldest()
    {
        var oldest = _held[0];
        _held.RemoveAt(0);
        _bytes -= oldest.Envelope.Payload.Length;
        CompleteAfter = oldest.Envelope.Sequence;
    }

    private readonly record struct Held(Envelope Envelope, DateTimeOffset ExpiresAt);
}
