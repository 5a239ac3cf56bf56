using Pigeon.Api;
using Pigeon.Messaging.Profiles;

namespace Pigeon.Messaging.Prekeys;

/// <summary>
/// Keeps the server stocked with this profile's prekeys, as <see cref="PrekeyPolicy"/> decides: asks
/// the server what it holds, drops the one-time prekeys it handed out once their grace is over,
/// rotates and tops up. The new private keys are committed before their public halves are uploaded.
/// </summary>
public sealed class PrekeyMaintenance
{
    private readonly ProfileSession _session;

    // The prekey id bound as of the last maintenance, so that the next one (each poll of
    // `sync --watch`) need not read the prekey store an extra time to learn it.
    private uint? _issuedBefore;

    internal PrekeyMaintenance(ProfileSession session) => _session = session;

    /// <summary>One round of upkeep; returns what was uploaded, or null when nothing was.</summary>
    public async Task<UploadPrekeysRequest?> MaintainAsync(CancellationToken ct)
    {
        // Keys made from here on, by any process of this profile, have ids at or above this bound.
        var issuedBefore = _issuedBefore ?? await _session.WithStoreAsync(database => database.Prekeys.Load().NextPrekeyId);
        var server = await _session.CallServerAsync(api => api.CountPrekeysAsync(ct));
        var now = _session.Time.GetUtcNow();
        var identity = _session.Identity;
        var upload = await _session.WithStoreAsync(database => database.InTransaction(() =>
        {
            var prekeys = database.Prekeys.Load();
            var dropped = prekeys.MarkHandedOut(
                    PrekeyPolicy.HeldFrom(server.OneTimePrekeys, server.LowestOneTimePrekeyId),
                    PrekeyPolicy.HeldFrom(server.OneTimeKemPrekeys, server.LowestOneTimeKemPrekeyId),
                    issuedBefore, now)
                + prekeys.PruneHandedOut(now, PrekeyPolicy.HandedOutPrekeyGrace, PrekeyPolicy.MaxHandedOutKeptPerKind);
            var plan = PrekeyPolicy.Decide(server, prekeys.OneTimePrekeyCount, prekeys.OneTimeMlKemPrekeyCount,
                database.Profile.Read().SignedPrekeyRotatedAt, now);
            _issuedBefore = prekeys.NextPrekeyId;
            if (plan.IsEmpty)
            {
                if (dropped > 0)
                {
                    database.Prekeys.Save(prekeys);
                }

                return null;
            }

            PrekeyDto? signed = null, lastResort = null;
            if (plan.RotateSignedPrekeys)
            {
                signed = prekeys.RotateSignedPrekey(identity, now).ToDto();
                lastResort = prekeys.RotateLastResortMlKemPrekey(identity, now).ToDto();
                prekeys.PruneRetired(now, PrekeyPolicy.RetiredPrekeyGrace);
                database.Profile.SetSignedPrekeyRotatedAt(now);
            }

            List<PrekeyDto> oneTime = [.. prekeys.GenerateOneTimePrekeys(plan.OneTimePrekeysToAdd).Select(p => p.ToDto())];
            List<PrekeyDto> oneTimeKem = [.. prekeys.GenerateMlKemPrekeys(identity, plan.KemPrekeysToAdd).Select(p => p.ToDto())];
            database.Prekeys.Save(prekeys);
            _issuedBefore = prekeys.NextPrekeyId;
            return new UploadPrekeysRequest(signed, lastResort, oneTime.Count > 0 ? oneTime : null, oneTimeKem.Count > 0 ? oneTimeKem : null);
        }));
        if (upload is not null)
        {
            await _session.CallServerAsync(api => api.UploadPrekeysAsync(upload, ct));
        }

        return upload;
    }
}
