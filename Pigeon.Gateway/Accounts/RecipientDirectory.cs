using System.Collections.Concurrent;
using Pigeon.Gateway.Failover;
using Pigeon.Gateway.Hosting;
using Pigeon.Grains.Abstractions.Accounts;

namespace Pigeon.Gateway.Accounts;

/// <summary>
/// Answers "is this a registered account?" for deposits, remembering positive answers: accounts are
/// never unregistered, so a yes stays true and saves a grain call per envelope.
/// </summary>
public sealed class RecipientDirectory(GrainReferences grains, GrainCallFailover failover)
{
    private const int MaxRemembered = 100_000;
    private readonly ConcurrentDictionary<string, byte> _known = new(StringComparer.Ordinal);

    /// <summary>Whether the account exists; a look-up lost with a silo is sent again (<see cref="GrainCallFailover"/>).</summary>
    public async Task<bool> ExistsAsync(string accountId, CancellationToken aborted = default)
    {
        if (_known.ContainsKey(accountId))
        {
            return true;
        }

        var exists = await failover.RunAsync((_, _) => grains.Get<IAccountGrain>(accountId).GetIdentityAsync(), aborted) is not null;
        if (exists)
        {
            Remember(accountId);
        }

        return exists;
    }

    /// <summary>Records an account known to exist.</summary>
    public void Remember(string accountId)
    {
        if (_known.Count >= MaxRemembered)
        {
            _known.Clear();
        }

        _known.TryAdd(accountId, 0);
    }
}
