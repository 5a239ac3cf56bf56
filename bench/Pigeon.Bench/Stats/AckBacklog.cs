namespace Pigeon.Bench.Stats;

/// <summary>
/// One mailbox reader's acknowledgements that the server has not confirmed yet, each counted, once
/// confirmed, in the phase its envelope was received in. The server commits an acknowledgement before
/// it answers, so a request that carried some and then failed (a timeout, the reader stopping) may have
/// deleted them unheard: when the next answer for those ids reports fewer deletions, the difference is
/// theirs. Not thread-safe: one reader loop owns it.
/// </summary>
public sealed class AckBacklog
{
    private readonly List<Entry> _entries = [];

    private sealed class Entry(Guid id, Phase phase)
    {
        public Guid Id { get; } = id;

        public Phase Phase { get; } = phase;

        public bool CarriedByAFailedRequest { get; set; }
    }

    /// <summary>Acknowledgements held.</summary>
    public int Count => _entries.Count;

    /// <summary>The ids held, oldest first.</summary>
    public IReadOnlyList<Guid> Ids => [.. _entries.Select(e => e.Id)];

    /// <summary>Holds the acknowledgement of an envelope received in <paramref name="phase"/>.</summary>
    public void Add(Guid messageId, Phase phase)
    {
        _entries.Add(new Entry(messageId, phase));
        phase.HoldAcknowledgements(1);
    }

    /// <summary>A request that carried <paramref name="messageIds"/> failed: the server may or may not have deleted them.</summary>
    public void Failed(IReadOnlyCollection<Guid> messageIds)
    {
        var carried = messageIds.ToHashSet();
        foreach (var entry in _entries.Where(e => carried.Contains(e.Id)))
        {
            entry.CarriedByAFailedRequest = true;
        }
    }

    /// <summary>
    /// A request that carried <paramref name="messageIds"/> was answered: they are all gone from the
    /// mailbox now, and <paramref name="deleted"/> of them were deleted by this request. Each is counted
    /// in its phase, unless the server deleted fewer than it must have (an id no failed request carried
    /// was present, since it was received and only this reader acknowledges it). Returns how many were counted.
    /// </summary>
    public int Confirmed(IReadOnlyCollection<Guid> messageIds, int deleted)
    {
        var carried = messageIds.ToHashSet();
        // Those a failed request carried first: a shortfall the server cannot explain lands on the others.
        var confirmed = _entries.Where(e => carried.Contains(e.Id)).OrderByDescending(e => e.CarriedByAFailedRequest).ToList();
        _entries.RemoveAll(e => carried.Contains(e.Id));
        var deletedEarlier = Math.Clamp(confirmed.Count - deleted, 0, confirmed.Count(e => e.CarriedByAFailedRequest));
        var counted = Math.Min(confirmed.Count, deleted + deletedEarlier);
        foreach (var phase in confirmed.Select((entry, i) => (entry.Phase, Counted: i < counted)).GroupBy(e => e.Phase))
        {
            phase.Key.HoldAcknowledgements(-phase.Count());
            phase.Key.AddAcknowledged(phase.Count(e => e.Counted));
        }

        return counted;
    }
}
