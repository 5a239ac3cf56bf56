namespace Pigeon.Api;

/// <summary><c>POST /v1/auth/challenge</c>: asks for a challenge to sign.</summary>
public sealed record ChallengeRequest(string AccountId);

/// <summary>A single-use challenge to sign with the identity key and answer at <c>POST /v1/auth/token</c> before <paramref name="ExpiresAt"/>.</summary>
public sealed record ChallengeResponse(byte[] Challenge, DateTimeOffset ExpiresAt);

/// <summary><c>POST /v1/auth/token</c>: a signed challenge.</summary>
/// <param name="AccountId">The account.</param>
/// <param name="Challenge">The challenge as issued.</param>
/// <param name="Signature">
/// The signature over the challenge bound to the server's origin (<see cref="ChallengeBinding.Bind"/>):
/// the device's own key's (Pigeon.Protocol's <c>DeviceKeyPair.SignAuthChallenge</c>), checked against the
/// key the account's signed device list names for <paramref name="DeviceId"/>. Before the account has
/// published a list, device 1 signs with the identity key (<c>IdentityKeyPair.SignAuthChallenge</c>).
/// </param>
/// <param name="DeviceId">The device signing in; its token reads only its own mailbox.</param>
public sealed record TokenRequest(string AccountId, byte[] Challenge, byte[] Signature, uint DeviceId = 1);

/// <summary>A bearer token for <c>Authorization: Bearer</c>.</summary>
public sealed record TokenResponse(string Token, DateTimeOffset ExpiresAt);
