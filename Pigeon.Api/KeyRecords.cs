namespace Pigeon.Api;

/// <summary>One public prekey: the client's id for it, the key, and (for signed kinds) the identity key's signature.</summary>
public sealed record PrekeyDto(uint Id, byte[] PublicKey, byte[]? Signature = null);

/// <summary><c>PUT /v1/keys</c>: prekeys to publish; every part is optional.</summary>
/// <param name="SignedPrekey">A new signed X25519 prekey (replaces the current one).</param>
/// <param name="LastResortKemPrekey">A new signed last-resort ML-KEM-1024 prekey (replaces the current one).</param>
/// <param name="OneTimePrekeys">One-time X25519 prekeys to add (at most <see cref="ApiLimits.MaxPrekeysPerUpload"/>).</param>
/// <param name="OneTimeKemPrekeys">Signed one-time ML-KEM-1024 prekeys to add (at most <see cref="ApiLimits.MaxPrekeysPerUpload"/>).</param>
public sealed record UploadPrekeysRequest(
    PrekeyDto? SignedPrekey = null,
    PrekeyDto? LastResortKemPrekey = null,
    IReadOnlyList<PrekeyDto>? OneTimePrekeys = null,
    IReadOnlyList<PrekeyDto>? OneTimeKemPrekeys = null);

/// <summary>How many prekeys remain on the server: the answer to <c>PUT /v1/keys</c> and <c>GET /v1/keys/count</c>.</summary>
/// <param name="OneTimePrekeys">One-time X25519 prekeys left.</param>
/// <param name="OneTimeKemPrekeys">One-time ML-KEM-1024 prekeys left.</param>
/// <param name="HasSignedPrekey">Whether a signed prekey is published.</param>
/// <param name="HasLastResortKemPrekey">Whether a last-resort ML-KEM prekey is published.</param>
/// <param name="LowestOneTimePrekeyId">The lowest one-time X25519 prekey id still on the server, null when none is: every lower id was handed out.</param>
/// <param name="LowestOneTimeKemPrekeyId">The same for one-time ML-KEM prekeys.</param>
public sealed record PrekeyCountsResponse(
    int OneTimePrekeys, int OneTimeKemPrekeys, bool HasSignedPrekey, bool HasLastResortKemPrekey,
    uint? LowestOneTimePrekeyId, uint? LowestOneTimeKemPrekeyId);

/// <summary>An identity's public keys.</summary>
public sealed record IdentityDto(byte[] SigningKey, byte[] AgreementKey, byte[] AgreementKeySignature);

/// <summary>
/// <c>GET /v1/keys/{accountId}</c>: what starts a session with an account (PQXDH's prekey bundle).
/// Unverified as it arrives: the caller checks it against the account id it knows.
/// </summary>
public sealed record PrekeyBundleResponse(
    string AccountId,
    IdentityDto Identity,
    PrekeyDto SignedPrekey,
    PrekeyDto? OneTimePrekey,
    PrekeyDto KemPrekey,
    bool KemPrekeyIsLastResort);

/// <summary>
/// <c>PUT /v1/keys/delivery</c>: the verifier of the caller's new delivery key (Pigeon.Protocol's
/// <c>DeliveryKeyVerifier</c>, bound to the account and the epoch); it replaces and revokes the previous
/// key. The server never receives the key itself at registration.
/// </summary>
/// <param name="Epoch">Which of the account's keys this is.</param>
/// <param name="Verifier">The verifier (<see cref="ApiLimits.DeliveryKeyVerifierBytes"/> bytes).</param>
public sealed record DeliveryKeyRequest(uint Epoch, byte[] Verifier);
