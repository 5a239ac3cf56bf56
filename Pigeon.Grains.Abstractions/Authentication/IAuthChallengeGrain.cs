namespace Pigeon.Grains.Abstractions.Authentication;

/// <summary>
/// Issues and redeems the authentication challenges of one account, keyed by account id. Every
/// gateway replica reaches the same grain, so a challenge issued by one can be answered at another.
/// Issuing stores nothing: a challenge carries its own expiry and a MAC under a key this activation
/// holds in memory, so asking for any number of challenges never pushes out one a client is still
/// answering. Only redemption is recorded, for as long as the challenge would be valid. A challenge
/// issued before the activation was lost (with its silo) is refused, and simply asked for again.
/// </summary>
[Alias("pigeon.auth-challenge")]
public interface IAuthChallengeGrain : IGrainWithStringKey
{
    /// <summary>Issues a fresh challenge that expires after <paramref name="lifetime"/>.</summary>
    [Alias("issue")]
    Task<AuthChallenge> IssueAsync(TimeSpan lifetime);

    /// <summary>
    /// Redeems a challenge whose signature by the account's identity key the caller has verified:
    /// true exactly once for an unexpired challenge this activation issued; false for anything else,
    /// and for every later call with the same bytes.
    /// </summary>
    [Alias("redeem")]
    Task<bool> RedeemAsync(byte[] challenge);
}

/// <summary>A challenge for the account to sign.</summary>
/// <param name="Challenge">The bytes to sign: opaque to the client.</param>
/// <param name="ExpiresAt">When the challenge stops being accepted.</param>
[GenerateSerializer, Immutable, Alias("pigeon.auth-challenge-issued")]
public sealed record AuthChallenge(
    [property: Id(0)] byte[] Challenge,
    [property: Id(1)] DateTimeOffset ExpiresAt);
