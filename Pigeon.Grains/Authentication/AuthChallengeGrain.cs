using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Pigeon.Grains.Abstractions.Authentication;
using Pigeon.Hosting;

namespace Pigeon.Grains.Authentication;

/// <summary>Keeps a handful of outstanding challenges per account; each is accepted once, before it expires.</summary>
internal sealed class AuthChallengeGrain([FromKeyedServices(PigeonTime.ServiceKey)] TimeProvider time) : Grain, IAuthChallengeGrain
{
    private const int ChallengeBytes = 32;

    // Enough for a few clients of one account logging in at once; the oldest is dropped beyond it.
    private const int MaxOutstanding = 8;

    private readonly List<AuthChallenge> _outstanding = [];

    public Task<AuthChallenge> IssueAsync(TimeSpan lifetime)
    {
        var now = time.GetUtcNow();
        _outstanding.RemoveAll(c => c.ExpiresAt <= now);
        if (_outstanding.Count >= MaxOutstanding)
        {
            _outstanding.RemoveAt(0);
        }

        var challenge = new AuthChallenge(RandomNumberGenerator.GetBytes(ChallengeBytes), now + lifetime);
        _outstanding.Add(challenge);
        return Task.FromResult(challenge);
    }

    public Task<bool> ConsumeAsync(byte[] challenge)
    {
        ArgumentNullException.ThrowIfNull(challenge);
        var now = time.GetUtcNow();
        var index = _outstanding.FindIndex(c => CryptographicOperations.FixedTimeEquals(c.Challenge, challenge));
        if (index < 0)
        {
            return Task.FromResult(false);
        }

        var found = _outstanding[index];
        _outstanding.RemoveAt(index);
        return Task.FromResult(found.ExpiresAt > now);
    }
}
