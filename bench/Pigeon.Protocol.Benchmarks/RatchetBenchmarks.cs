using BenchmarkDotNet.Attributes;
using Pigeon.Protocol.Identity;
using Pigeon.Protocol.Prekeys;

namespace Pigeon.Protocol.Benchmarks;

/// <summary>Encrypt + decrypt of a 256-byte message in an established session.</summary>
[MemoryDiagnoser]
public class RatchetBenchmarks
{
    private readonly byte[] _message = new byte[256];
    private Session _alice = null!;
    private Session _bob = null!;

    [GlobalSetup]
    public void Setup()
    {
        using var alice = IdentityKeyPair.Generate();
        using var bob = IdentityKeyPair.Generate();
        var prekeys = new PrekeyStore();
        var now = DateTimeOffset.UtcNow;
        var bundle = new PrekeyBundle(bob.PublicIdentity, prekeys.RotateSignedPrekey(bob, now), prekeys.GenerateOneTimePrekeys(1)[0], prekeys.GenerateMlKemPrekeys(bob, 1)[0]);
        _alice = Session.Initiate(alice, bundle, bob.AccountId);
        _bob = Session.Accept(bob, prekeys, _alice.Encrypt("hi"u8)).Session;
        _alice.Decrypt(_bob.Encrypt("ack"u8));
        Random.Shared.NextBytes(_message);
    }

    [Benchmark(Description = "encrypt + decrypt 256 B, same direction (symmetric ratchet)")]
    public byte[] SameDirection() => _bob.Decrypt(_alice.Encrypt(_message));

    [Benchmark(Description = "encrypt + decrypt 256 B, both ways (a DH ratchet step each message)")]
    public byte[] PingPong()
    {
        _bob.Decrypt(_alice.Encrypt(_message));
        return _alice.Decrypt(_bob.Encrypt(_message));
    }
}
