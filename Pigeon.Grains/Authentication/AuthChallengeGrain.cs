using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Pigeon.Grains.Abstractions.Authentication;
using Pigeon.Hosting;

namespace Pigeon.Grains.Authentication;

/// <summary>
/// An account's challenges, stateless until redeemed (ADR 0002). A challenge is
/// <c>version ‖ nonce (16) ‖ expiry (unix ms, 8, big-endian) ‖ HMAC-SHA256</c>, the MAC over a
/// domain label, the account id and everything before it, under a random key of this activation.
/// Issuing keeps nothing, so nobody's requests can evict anybody's challenge; a redeemed nonce is kept
/// until its challenge expires, which makes each challenge single-use.
/// </summary>
internal sealed class AuthChallengeGrain([FromKeyedServices(PigeonTime.ServiceKey)] TimeProvider time) : Grain, IAuthChallengeGrain
{
    private const byte Version = 1;
    private const int NonceBytes = 16;
    private const int MacBytes = 32;
    private const int ChallengeBytes = 1 + NonceBytes + sizeof(long) + MacBytes;
    private static readonly byte[] Domain = Encoding.ASCII.GetBytes("Pigeon/1/auth-challenge-mac\0");

    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);

    // Redeemed nonces and when their challenges expire. Only signatures of the account's own key get
    // here (the gateway verifies first), so only the account itself makes this grow.
    private readonly Dictionary<Guid, DateTimeOffset> _redeemed = [];

    private string AccountId => this.GetPrimaryKeyString();

    public Task<AuthChallenge> IssueAsync(TimeSpan lifetime)
    {
        var expiresAt = DateTimeOffset.FromUnixTimeMilliseconds((time.GetUtcNow() + lifetime).ToUnixTimeMilliseconds());
        var challenge = new byte[ChallengeBytes];
        challenge[0] = Version;
        RandomNumberGenerator.Fill(challenge.AsSpan(1, NonceBytes));
        BinaryPrimitives.WriteInt64BigEndian(challenge.AsSpan(1 + NonceBytes), expiresAt.ToUnixTimeMilliseconds());
        Mac(challenge.AsSpan(0, ChallengeBytes - MacBytes), challenge.AsSpan(ChallengeBytes - MacBytes));
        // The key lives as long as this activation: keep it at least until this challenge expires.
        DelayDeactivation(lifetime);
        return Task.FromResult(new AuthChallenge(challenge, expiresAt));
    }

    public Task<bool> RedeemAsync(byte[] challenge)
    {
        ArgumentNullException.ThrowIfNull(challenge);
        if (challenge.Length != ChallengeBytes || challenge[0] != Version)
        {
            return Task.FromResult(false);
        }

        Span<byte> expected = stackalloc byte[MacBytes];
        Mac(challenge.AsSpan(0, ChallengeBytes - MacBytes), expected);
        if (!CryptographicOperations.FixedTimeEquals(expected, challenge.AsSpan(ChallengeBytes - MacBytes)))
        {
            return Task.FromResult(false);
        }

        var now = time.GetUtcNow();
        var expiresAt = DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64BigEndian(challenge.AsSpan(1 + NonceBytes)));
        if (expiresAt <= now)
        {
            return Task.FromResult(false);
        }

        foreach (var (spent, until) in _redeemed)
        {
            if (until <= now)
            {
                _redeemed.Remove(spent);
            }
        }

        return Task.FromResult(_redeemed.TryAdd(new Guid(challenge.AsSpan(1, NonceBytes)), expiresAt));
    }

    private void Mac(ReadOnlySpan<byte> body, Span<byte> destination)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, _key);
        hmac.AppendData(Domain);
        hmac.AppendData(Encoding.ASCII.GetBytes(AccountId));
        hmac.AppendData([0]);
        hmac.AppendData(body);
        hmac.GetHashAndReset(destination);
    }
}
