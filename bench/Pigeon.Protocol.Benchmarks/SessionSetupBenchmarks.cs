using BenchmarkDotNet.Attributes;
using Pigeon.Protocol.Identity;
using Pigeon.Protocol.Prekeys;

namespace Pigeon.Protocol.Benchmarks;

/// <summary>
/// Both sides of PQXDH through the public API: Alice verifies Bob's bundle and initiates, encrypts a
/// first message; Bob accepts it (PQXDH responder, ratchet start, first decryption). The bundle uses
/// Bob's last-resort ML-KEM prekey and no one-time X25519 prekey so repeated runs do not use up keys.
/// </summary>
[MemoryDiagnoser]
public class SessionSetupBenchmarks
{
    private IdentityKeyPair _alice = null!;
    private IdentityKeyPair _bob = null!;
    private PrekeyStore _bobPrekeys = null!;
    private PrekeyBundle _bundle = null!;
    private string _bobId = null!;

    [GlobalSetup]
    public void Setup()
    {
        _alice = IdentityKeyPair.Generate();
        _bob = IdentityKeyPair.Generate();
        _bobPrekeys = new PrekeyStore();
        var now = DateTimeOffset.UtcNow;
        var signed = _bobPrekeys.RotateSignedPrekey(_bob, now);
        var lastResort = _bobPrekeys.RotateLastResortMlKemPrekey(_bob, now);
        _bundle = new PrekeyBundle(_bob.PublicIdentity, signed, null, lastResort);
        _bobId = _bob.AccountId;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _alice.Dispose();
        _bob.Dispose();
    }

    [Benchmark(Description = "PQXDH setup, both sides, with first message")]
    public Session SetupBothSides()
    {
        var aliceSession = Session.Initiate(_alice, _bundle, _bobId);
        var first = aliceSession.Encrypt("hi"u8);
        return Session.Accept(_bob, _bobPrekeys, first).Session;
    }

    [Benchmark(Description = "PQXDH initiator only (bundle verification + Initiate)")]
    public Session InitiatorOnly() => Session.Initiate(_alice, _bundle, _bobId);
}
