using BenchmarkDotNet.Attributes;
using Pigeon.Protocol.Envelope;
using Pigeon.Protocol.Identity;
using Pigeon.Protocol.Prekeys;

namespace Pigeon.Protocol.Benchmarks;

/// <summary>
/// The client's cost of one message to a contact with six devices from a sender with six (issue 16):
/// eleven envelopes, each a ratchet encryption in that device's own session and a sealed envelope to
/// that device (six of the contact's, five of the sender's own other devices).
/// </summary>
[MemoryDiagnoser]
[Config(typeof(BoundedConfig))]
public class FanOutBenchmarks
{
    private readonly List<(SessionRecord Record, DeviceAddress Address)> _sessions = [];
    private readonly byte[] _plaintext = new byte[256];
    private IdentityKeyPair _alice = null!;

    [GlobalSetup]
    public void Setup()
    {
        var now = DateTimeOffset.UtcNow;
        _alice = IdentityKeyPair.Generate();
        var bob = IdentityKeyPair.Generate();
        foreach (var (account, devices) in new[] { (bob, 6u), (_alice, 5u) })
        {
            for (uint device = 1; device <= devices; device++)
            {
                var prekeys = new PrekeyStore();
                var bundle = new PrekeyBundle(account.PublicIdentity, prekeys.RotateSignedPrekey(account, now), null, prekeys.RotateLastResortMlKemPrekey(account, now));
                var record = new SessionRecord();
                record.Activate(Session.Initiate(_alice, bundle, account.AccountId));
                _sessions.Add((record, new DeviceAddress(account.AccountId, account == _alice ? device + 1 : device)));
            }
        }
    }

    [Benchmark(Description = "one message to 6 + 5 devices: 11 × (ratchet encrypt + seal)")]
    public int FanOut()
    {
        var bytes = 0;
        foreach (var (record, address) in _sessions)
        {
            var session = record.Current!;
            bytes += SealedEnvelope.Seal(_alice, 1, session.RemoteIdentity, address, EnvelopeContentType.RatchetMessage, session.Encrypt(_plaintext)).Length;
        }

        return bytes;
    }
}
