using System.Collections.Concurrent;

namespace Pigeon.Bench.Stats;

/// <summary>Counts failed requests by HTTP status code, or by exception kind when no response came.</summary>
public sealed class StatusCounter
{
    private readonly ConcurrentDictionary<string, long> _counts = new(StringComparer.Ordinal);
    private long _total;

    /// <summary>How many failures were counted.</summary>
    public long Total => Interlocked.Read(ref _total);

    /// <summary>Counts one failure under its status code ("429") or a name ("timeout", "connection").</summary>
    public void Add(string key)
    {
        _counts.AddOrUpdate(key, 1, (_, n) => n + 1);
        Interlocked.Increment(ref _total);
    }

    /// <summary>The failures so far, by key, sorted.</summary>
    public SortedDictionary<string, long> Snapshot() => new(_counts.ToDictionary(p => p.Key, p => p.Value), StringComparer.Ordinal);
}
