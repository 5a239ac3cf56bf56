namespace Pigeon.Api;

/// <summary><c>POST /v1/accounts</c>: registers an identity.</summary>
/// <param name="AccountId">The account id the keys derive to.</param>
/// <param name="SigningKey">The Ed25519 identity public key (<see cref="ApiLimits.PublicKeyBytes"/> bytes).</param>
/// <param name="AgreementKey">The X25519 identity public key (<see cref="ApiLimits.PublicKeyBytes"/> bytes).</param>
/// <param name="AgreementKeySignature">The signing key's signature over the agreement key (<see cref="ApiLimits.SignatureBytes"/> bytes).</param>
public sealed record RegisterAccountRequest(string AccountId, byte[] SigningKey, byte[] AgreementKey, byte[] AgreementKeySignature);

/// <summary>A registered account: the answer to <c>POST /v1/accounts</c> (201 when new, 200 when already registered with these keys).</summary>
public sealed record AccountResponse(string AccountId, DateTimeOffset RegisteredAt);
