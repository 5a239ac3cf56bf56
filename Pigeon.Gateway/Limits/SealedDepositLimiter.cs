using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Pigeon.Gateway.Hosting;

namespace Pigeon.Gateway.Limits;

/// <summary>
/// Sealed deposits name no sender to limit, so they are limited per recipient: a token bucket per
/// mailbox, in this gateway's memory (with N gateways a mailbox takes up to N times the rate).
/// </summary>
public sealed class SealedDepositLimiter(IOptions<LimitsOptions> limits) : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter = PartitionedRateLimiter.Create<string, string>(recipient =>
        RateLimitPartition.GetTokenBucketLimiter(recipient, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = limits.Value.SealedDepositBurstPerRecipient,
            TokensPerPeriod = limits.Value.SealedDepositsPerSecondPerRecipient,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        }), StringComparer.Ordinal);

    /// <summary>
    /// Takes one permit per envelope from each recipient's bucket; null when every recipient had room,
    /// else how long to wait. Permits already taken for other recipients of a refused batch are spent.
    /// </summary>
    public TimeSpan? TryAcquire(IEnumerable<string> recipients)
    {
        foreach (var group in recipients.GroupBy(r => r, StringComparer.Ordinal))
        {
            using var lease = _limiter.AttemptAcquire(group.Key, group.Count());
            if (!lease.IsAcquired)
            {
                return lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
            }
        }

        return null;
    }

    public void Dispose() => _limiter.Dispose();
}
