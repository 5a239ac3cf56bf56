using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Pigeon.Gateway.Hosting;

namespace Pigeon.Gateway.Limits;

/// <summary>Caps the long-polls one device (its mailbox key) holds open on this gateway, so one client cannot hoard connections.</summary>
public sealed class LongPollLimiter(IOptions<LimitsOptions> options)
{
    private readonly ConcurrentDictionary<string, int> _open = new(StringComparer.Ordinal);

    /// <summary>Takes a slot for the device's mailbox; null when it already has as many open as allowed.</summary>
    public IDisposable? TryEnter(string accountId)
    {
        var limit = options.Value.MaxConcurrentLongPolls;
        while (true)
        {
            var current = _open.GetOrAdd(accountId, 0);
            if (current >= limit)
            {
                return null;
            }

            if (_open.TryUpdate(accountId, current + 1, current))
            {
                return new Slot(this, accountId);
            }
        }
    }

    private void Leave(string accountId)
    {
        while (true)
        {
            var current = _open[accountId];
            if (current == 1 ? _open.TryRemove(new KeyValuePair<string, int>(accountId, 1)) : _open.TryUpdate(accountId, current - 1, current))
            {
                return;
            }
        }
    }

    private sealed class Slot(LongPollLimiter limiter, string accountId) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                limiter.Leave(accountId);
            }
        }
    }
}
