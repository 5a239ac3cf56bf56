using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;
using Pigeon.Api;
using Pigeon.Gateway.Authentication;
using Pigeon.Gateway.Errors;
using Pigeon.Gateway.Hosting;

namespace Pigeon.Gateway.Limits;

/// <summary>
/// The rate-limit policies: per account for authenticated routes (stricter for bundle fetches), per
/// client address for the rest (an IPv6 client counted by its /64, <see cref="AddressKey"/>).
/// </summary>
public static class RateLimits
{
    /// <summary>Token bucket per authenticated account.</summary>
    public const string Account = "per-account";

    /// <summary>Fixed window per client IP address, for registration and authentication.</summary>
    public const string Anonymous = "per-address";

    /// <summary>Token bucket per client IP address at the per-account rates, for sealed deposits, which carry no account.</summary>
    public const string Sealed = "per-address-sealed";

    /// <summary>Fixed window per authenticated account, for prekey bundle fetches (in place of <see cref="Account"/>).</summary>
    public const string BundleFetch = "per-account-bundles";

    private static RateLimitPartition<string> PerMinute(string key, int permits) => RateLimitPartition.GetFixedWindowLimiter(
        key, _ => new FixedWindowRateLimiterOptions { PermitLimit = permits, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 });

    private static RateLimitPartition<string> AccountRate(string key, LimitsOptions limits) => RateLimitPartition.GetTokenBucketLimiter(
        key, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = limits.AccountBurst,
            TokensPerPeriod = limits.AccountRequestsPerSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        });

    /// <summary>
    /// The key of a client address for the per-address limits: an IPv4 address itself (also when it
    /// arrives IPv4-mapped), an IPv6 address its /64. One subscriber is routinely given a whole /64,
    /// so keying on the full address would hand one client 2^64 fresh limits.
    /// </summary>
    public static string AddressKey(IPAddress? address)
    {
        if (address is null)
        {
            return "";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes).ToString() + "/64";
    }

    /// <summary>Adds the policies, answering rejections with 429, <c>Retry-After</c> and a ProblemDetails.</summary>
    public static IServiceCollection AddPigeonRateLimits(this IServiceCollection services, LimitsOptions limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        return services.AddRateLimiter(options =>
        {
            options.AddPolicy(Account, context => AccountRate(context.User.FindFirst(BearerTokenHandler.AccountClaim)?.Value ?? "", limits));
            options.AddPolicy(Sealed, context => AccountRate("sealed " + AddressKey(context.Connection.RemoteIpAddress), limits));
            options.AddPolicy(BundleFetch, context => PerMinute(context.User.FindFirst(BearerTokenHandler.AccountClaim)?.Value ?? "", limits.BundleFetchesPerMinute));
            options.AddPolicy(Anonymous, context => PerMinute(AddressKey(context.Connection.RemoteIpAddress), limits.AnonymousRequestsPerMinute));
            options.OnRejected = async (context, cancellationToken) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
                var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
                context.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                await Problems.WriteAsync(context.HttpContext, StatusCodes.Status429TooManyRequests, ProblemTypes.RateLimited,
                    "Too many requests.", $"Try again in {seconds} s.");
            };
        });
    }
}
