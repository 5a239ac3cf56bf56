namespace Pigeon.Grains.Abstractions.Authentication;

/// <summary>
/// The outstanding authentication challenges of one account, keyed by account id. Held in memory
/// only: a challenge lives for minutes, and one lost with its silo is simply asked for again.
/// Every gateway replica reaches the same grain, so a challenge issued by one can be answered at another.
/// </summary>
[Alias("pigeon.auth-challenge")]
public interface IAuthChallengeGrain : IGrainWithStringKey
{
    /// <summary>Issues a fresh random challenge that expires after <paramref name="lifetime"/>.</summary>
    [Alias("issue")]
    Task<AuthChallenge> IssueAsync(TimeSpan lifetime);

    /// <summary>
    /// Consumes a challenge: true exactly once for a challenge this grain issued and that has not
    /// expired; false for anything else, and every later call with the same bytes.
    /// </summary>
    [Alias("consume")]
    Task<bool> ConsumeAsync(byte[] challenge);
}

/// <summary>A challenge for the account to sign.</summary>
/// <param name="Challenge">Random bytes.</param>
/// <param name="ExpiresAt">When the challenge stops being accepted.</param>
[GenerateSerializer, Immutable, Alias("pigeon.auth-challenge-issued")]
public sealed record AuthChallenge(
    [property: Id(0)] byte[] Challenge,
    [property: Id(1)] DateTimeOffset ExpiresAt);
