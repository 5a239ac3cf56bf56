namespace Pigeon.Api;

/// <summary><c>POST /v1/auth/challenge</c>: asks for a challenge to sign.</summary>
public sealed record ChallengeRequest(string AccountId);

/// <summary>A single-use challenge to sign with the identity key and answer at <c>POST /v1/auth/token</c> before <paramref name="ExpiresAt"/>.</summary>
public sealed record ChallengeResponse(byte[] Challenge, DateTimeOffset ExpiresAt);

/// <summary><c>POST /v1/auth/token</c>: a signed challenge.</summary>
/// <param name="AccountId">The account.</param>
/// <param name="Challenge">The challenge as issued.</param>
/// <param name="Signature">
/// The identity key's signature (Pigeon.Protocol's auth-challenge message) over the challenge bound to
/// the server's origin (<see cref="ChallengeBinding.Bind"/>).
/// </param>
public sealed record TokenRequest(string AccountId, byte[] Challenge, byte[] Signature);

/// <summary>A bearer token for <c>Authorization: Bearer</c>.</summary>
public sealed record TokenResponse(string Token, DateTimeOffset ExpiresAt);
