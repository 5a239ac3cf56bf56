using Pigeon.Api;
using Pigeon.Protocol.Prekeys;

namespace Pigeon.Messaging.Prekeys;

/// <summary>What one round of prekey upkeep does: rotate the signed prekeys, and how many one-time prekeys of each kind to add.</summary>
/// <param name="RotateSignedPrekeys">Replace the signed X25519 prekey and the last-resort ML-KEM prekey.</param>
/// <param name="OneTimePrekeysToAdd">New one-time X25519 prekeys to make and upload.</param>
/// <param name="KemPrekeysToAdd">New one-time ML-KEM prekeys to make and upload.</param>
public sealed record PrekeyPlan(bool RotateSignedPrekeys, int OneTimePrekeysToAdd, int KemPrekeysToAdd)
{
    /// <summary>True when there is nothing to upload.</summary>
    public bool IsEmpty => !RotateSignedPrekeys && OneTimePrekeysToAdd == 0 && KemPrekeysToAdd == 0;
}

/// <summary>
/// The prekey policy, as pure decisions from what the server holds, what the profile holds and the
/// time: nothing here reads or writes anything. <see cref="PrekeyMaintenance"/> applies them.
/// </summary>
public static class PrekeyPolicy
{
    /// <summary>One-time prekeys of each kind uploaded at init and topped up to.</summary>
    public const int Target = 130;

    /// <summary>
    /// Below this many of a kind on the server, more are uploaded. Above the server's default of 60
    /// one-time handouts an hour (<c>Pigeon:Accounts:MaxOneTimePrekeyHandoutsPerHour</c>), so a pool
    /// that is looked after hourly (every <c>sync</c> and <c>chat</c> poll does) never runs dry, even
    /// while strangers fetch as fast as the server lets them.
    /// </summary>
    public const int LowWatermark = 70;

    /// <summary>
    /// Handed-out one-time prekeys of each kind kept for late first messages, at most: beyond it the
    /// longest handed out go first, so fetching bundles cannot fill the local store (33 hours of the
    /// fastest fetching the server allows).
    /// </summary>
    public const int MaxHandedOutKeptPerKind = 2_000;

    /// <summary>Room kept in the local store below <see cref="PrekeyStore.MaxStoredPrekeys"/> for the signed and retired keys.</summary>
    public const int ReservedForSignedPrekeys = 24;

    /// <summary>How often the signed prekey (and the last-resort ML-KEM prekey) is replaced.</summary>
    public static readonly TimeSpan SignedPrekeyLifetime = TimeSpan.FromDays(7);

    /// <summary>
    /// How long a replaced signed prekey (and last-resort ML-KEM prekey) still answers late session
    /// setups: a first message made with it just before the rotation may wait in its sender's outbox
    /// and then up to the server's envelope lifetime (<see cref="ApiLimits.MaxEnvelopeLifetimeDays"/>).
    /// </summary>
    public static readonly TimeSpan RetiredPrekeyGrace = TimeSpan.FromDays(ApiLimits.MaxEnvelopeLifetimeDays + 14);

    /// <summary>
    /// How long a one-time prekey the server has handed out keeps its private half: the first message
    /// that used it may wait in the sender's outbox and then up to the server's envelope TTL (30 days).
    /// </summary>
    public static readonly TimeSpan HandedOutPrekeyGrace = TimeSpan.FromDays(2 * ApiLimits.MaxEnvelopeLifetimeDays);

    /// <summary>
    /// What to upload. The signed prekeys rotate when older than <see cref="SignedPrekeyLifetime"/>
    /// or missing on the server; a kind below <see cref="LowWatermark"/> on the server is topped up to
    /// <see cref="Target"/>, but never past what the local store may hold: keys handed out and never
    /// used stay in it (<paramref name="storedOneTimePrekeys"/> and <paramref name="storedKemPrekeys"/>
    /// count the one-time keys it holds now).
    /// </summary>
    public static PrekeyPlan Decide(PrekeyCountsResponse server, int storedOneTimePrekeys, int storedKemPrekeys,
        DateTimeOffset signedPrekeyRotatedAt, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(server);
        var rotate = now - signedPrekeyRotatedAt >= SignedPrekeyLifetime || !server.HasSignedPrekey || !server.HasLastResortKemPrekey;
        var room = Math.Max(0, PrekeyStore.MaxStoredPrekeys - ReservedForSignedPrekeys - storedOneTimePrekeys - storedKemPrekeys);
        return new PrekeyPlan(rotate, TopUp(server.OneTimePrekeys, room / 2), TopUp(server.OneTimeKemPrekeys, room / 2));
    }

    /// <summary>
    /// The lowest one-time prekey id the server may still hold of a kind, from its count and the lowest
    /// id it names: every local key below it was handed out. None when its pool is empty; and when a
    /// server too old to name the lowest id holds some, possibly any, so nothing is taken for gone.
    /// </summary>
    public static uint HeldFrom(int count, uint? lowest) => count == 0 ? uint.MaxValue : lowest ?? 0;

    private static int TopUp(int onServer, int room) => onServer < LowWatermark ? Math.Min(Target - onServer, room) : 0;
}
