namespace Pigeon.Messaging.Groups;

/// <summary>What <see cref="GroupLog.Accept"/> did with a version.</summary>
public enum GroupUpdateOutcome
{
    /// <summary>It is valid and now the current version.</summary>
    BecameCurrent,

    /// <summary>It is valid, but another version wins (a concurrent change that lost the tie-break, or an older one).</summary>
    Superseded,

    /// <summary>It was already known.</summary>
    Known,

    /// <summary>Its base is not known yet; it is held until the base arrives.</summary>
    Held,
}

/// <summary>
/// The versions of one group a member knows, and which is current (ADR 0004). Every accepted version
/// was checked against its base; the current one is the accepted version with the highest version
/// number and, among those, the lowest hash (byte order). Two admins who change the group at once
/// both make version n + 1 on the same base: whatever order a member receives them in, it ends on the
/// same current version, and the loser's author sees its change superseded and may make it again on
/// top. A version whose base is unknown waits (at most <see cref="MaxHeld"/>) until the base comes.
/// </summary>
public sealed class GroupLog
{
    /// <summary>The most versions with an unknown base kept waiting.</summary>
    public const int MaxHeld = 64;

    private readonly Dictionary<string, GroupState> _accepted = [];
    private readonly List<GroupState> _held = [];

    /// <summary>A log that starts from a created group (version 1) or a version a member was given when it joined.</summary>
    public GroupLog(GroupState start)
    {
        ArgumentNullException.ThrowIfNull(start);
        _accepted[Key(start.Hash)] = start;
        Current = start;
    }

    /// <summary>The version in force.</summary>
    public GroupState Current { get; private set; }

    /// <summary>Every accepted version.</summary>
    public IEnumerable<GroupState> Accepted => _accepted.Values;

    /// <summary>
    /// Takes a version received from its author (the pairwise session authenticated the author).
    /// </summary>
    /// <exception cref="GroupChangeException">It is not a valid successor of its base, or names another group.</exception>
    public GroupUpdateOutcome Accept(GroupState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (!state.Id.AsSpan().SequenceEqual(Current.Id))
        {
            throw new GroupChangeException("The update is for another group.");
        }

        if (_accepted.ContainsKey(Key(state.Hash)))
        {
            return GroupUpdateOutcome.Known;
        }

        if (!_accepted.TryGetValue(Key(state.Base), out var @base))
        {
            if (_held.Count >= MaxHeld)
            {
                _held.RemoveAt(0);
            }

            _held.Add(state);
            return GroupUpdateOutcome.Held;
        }

        @base.CheckSuccessor(state);
        _accepted[Key(state.Hash)] = state;
        var before = Current;
        foreach (var waiting in _held.Where(h => h.Base.AsSpan().SequenceEqual(state.Hash)).ToList())
        {
            _held.Remove(waiting);
            try
            {
                Accept(waiting);
            }
            catch (GroupChangeException)
            {
                // An invalid successor that waited is dropped like one that came in order.
            }
        }

        if (Wins(state, Current))
        {
            Current = state;
        }

        return ReferenceEquals(Current, state) || (!ReferenceEquals(Current, before) && Descends(Current, state))
            ? GroupUpdateOutcome.BecameCurrent
            : GroupUpdateOutcome.Superseded;
    }

    // Higher version first, then the lower hash: the same answer on every member for the same set.
    private static bool Wins(GroupState candidate, GroupState current) =>
        candidate.Version > current.Version
        || (candidate.Version == current.Version && candidate.Hash.AsSpan().SequenceCompareTo(current.Hash) < 0);

    private bool Descends(GroupState state, GroupState ancestor)
    {
        for (var at = state; at is not null; at = _accepted.GetValueOrDefault(Key(at.Base)))
        {
            if (ReferenceEquals(at, ancestor))
            {
                return true;
            }
        }

        return false;
    }

    private static string Key(byte[] hash) => Convert.ToHexString(hash);
}
