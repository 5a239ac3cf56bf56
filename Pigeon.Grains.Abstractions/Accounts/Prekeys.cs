namespace Pigeon.Grains.Abstractions.Accounts;

/// <summary>One public prekey as the server keeps it: an id chosen by the client and opaque bytes.</summary>
/// <param name="Id">The client's id for this prekey, unique within its kind.</param>
/// <param name="PublicKey">The public key bytes.</param>
/// <param name="Signature">The identity key's signature over the prekey, for the kinds that are signed.</param>
[GenerateSerializer, Immutable, Alias("pigeon.prekey")]
public sealed record Prekey(
    [property: Id(0)] uint Id,
    [property: Id(1)] byte[] PublicKey,
    [property: Id(2)] byte[]? Signature);

/// <summary>The kinds of one-time prekey kept in pools.</summary>
public enum OneTimePrekeyKind : short
{
    /// <summary>A one-time X25519 prekey (PQXDH's OPK).</summary>
    X25519 = 1,

    /// <summary>A one-time signed ML-KEM-1024 prekey (PQXDH's one-time PQPK).</summary>
    MlKem1024 = 2,
}

/// <summary>Prekeys uploaded in one call. Absent parts are left as they are.</summary>
/// <param name="SignedPrekey">A new signed X25519 prekey, replacing the current one.</param>
/// <param name="LastResortKemPrekey">A new signed last-resort ML-KEM-1024 prekey, replacing the current one.</param>
/// <param name="OneTimeX25519Prekeys">One-time X25519 prekeys to add to the pool.</param>
/// <param name="OneTimeKemPrekeys">One-time signed ML-KEM-1024 prekeys to add to the pool.</param>
[GenerateSerializer, Immutable, Alias("pigeon.prekey-upload")]
public sealed record PrekeyUpload(
    [property: Id(0)] Prekey? SignedPrekey,
    [property: Id(1)] Prekey? LastResortKemPrekey,
    [property: Id(2)] IReadOnlyList<Prekey> OneTimeX25519Prekeys,
    [property: Id(3)] IReadOnlyList<Prekey> OneTimeKemPrekeys);

/// <summary>What a session initiator needs: identity, signed prekey and, when available, one-time prekeys.</summary>
/// <param name="Identity">The account's identity keys.</param>
/// <param name="SignedPrekey">The current signed X25519 prekey.</param>
/// <param name="OneTimeX25519Prekey">A one-time X25519 prekey, consumed by this fetch; absent when the pool is empty.</param>
/// <param name="KemPrekey">A one-time ML-KEM prekey, consumed by this fetch, or the last-resort one when the pool is empty.</param>
/// <param name="KemPrekeyIsLastResort">True when <paramref name="KemPrekey"/> is the last-resort key.</param>
[GenerateSerializer, Immutable, Alias("pigeon.prekey-bundle")]
public sealed record PrekeyHandout(
    [property: Id(0)] IdentityKeys Identity,
    [property: Id(1)] Prekey SignedPrekey,
    [property: Id(2)] Prekey? OneTimeX25519Prekey,
    [property: Id(3)] Prekey KemPrekey,
    [property: Id(4)] bool KemPrekeyIsLastResort);

/// <summary>
/// How many prekeys an account has on the server, and the lowest one-time prekey id of each pool
/// (null when the pool is empty). Pools hand out their lowest id first, so every id below it has
/// left the server: its owner may retire those private keys.
/// </summary>
[GenerateSerializer, Immutable, Alias("pigeon.prekey-counts")]
public sealed record PrekeyCounts(
    [property: Id(0)] int OneTimeX25519,
    [property: Id(1)] int OneTimeKem,
    [property: Id(2)] bool HasSignedPrekey,
    [property: Id(3)] bool HasLastResortKemPrekey,
    [property: Id(4)] uint? LowestOneTimeX25519Id = null,
    [property: Id(5)] uint? LowestOneTimeKemId = null);
