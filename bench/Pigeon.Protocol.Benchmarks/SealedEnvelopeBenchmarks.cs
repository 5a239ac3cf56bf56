using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Pigeon.Protocol.Envelope;
using Pigeon.Protocol.Identity;
using Pigeon.Protocol.Prekeys;
using Pigeon.Protocol.Wire;

namespace Pigeon.Protocol.Benchmarks;

/// <summary>
/// What a sealed envelope costs: sealing and opening one, a whole message (ratchet encrypt, seal, open,
/// record decrypt), and the recipient's cost for junk with 1, 100 and 10,000 stored sessions across
/// contacts. The recipient does what a client does per envelope: open it, look up the named sender's
/// record by address, decrypt with that record only. Sessions beyond the first 100 are copies of real
/// ones (deserialized from their blobs) stored under their own senders' addresses: they are never
/// touched, which is the point, and 10,000 PQXDH setups would not fit a bounded run.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(BoundedConfig))]
public class SealedEnvelopeBenchmarks
{
    private const int RealSessions = 100;

    private readonly Dictionary<DeviceAddress, SessionRecord> _records = [];
    private readonly List<IdentityKeyPair> _senders = [];
    private IdentityKeyPair _bob = null!;
    private PrekeyStore _bobPrekeys = null!;
    private DeviceAddress _bobAddress;
    private SessionRecord _aliceRecord = null!;
    private byte[] _randomEnvelope = null!;
    private byte[] _bogusUnknownSession = null!;
    private byte[] _bogusNewChain = null!;
    private byte[] _ratchetMessage = null!;
    private readonly byte[] _plaintext = new byte[256];

    /// <summary>How many sessions (one per contact) the recipient holds.</summary>
    [Params(1, 100, 10_000)]
    public int StoredSessions { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var now = DateTimeOffset.UtcNow;
        _bob = IdentityKeyPair.Generate();
        _bobAddress = DeviceAddress.Primary(_bob.AccountId);
        _bobPrekeys = new PrekeyStore();
        var bundle = new PrekeyBundle(_bob.PublicIdentity, _bobPrekeys.RotateSignedPrekey(_bob, now), null, _bobPrekeys.RotateLastResortMlKemPrekey(_bob, now));
        var blobs = new List<byte[]>();
        for (var i = 0; i < StoredSessions; i++)
        {
            // libsodium guards each private key with its own pages; 20,000 live keys would pass Linux's
            // map count limit, so only the senders of real sessions keep theirs.
            var sender = IdentityKeyPair.Generate();
            SessionRecord bobsRecord;
            if (i < RealSessions)
            {
                _senders.Add(sender);
                var aliceRecord = new SessionRecord();
                aliceRecord.Activate(Session.Initiate(sender, bundle, _bob.AccountId));
                bobsRecord = new SessionRecord();
                bobsRecord.Decrypt(_bob, _bobPrekeys, sender.PublicIdentity, WireMessage.Parse(aliceRecord.Encrypt("hi"u8)), now);
                aliceRecord.Current!.Decrypt(bobsRecord.Encrypt("ack"u8));
                blobs.Add(bobsRecord.Serialize());
                if (i == 0)
                {
                    _aliceRecord = aliceRecord;
                }
            }
            else
            {
                bobsRecord = SessionRecord.Deserialize(blobs[i % RealSessions]);
                sender.Dispose();
            }

            _records[DeviceAddress.Primary(sender.AccountId)] = bobsRecord;
        }

        var alice = _senders[0];
        RandomNumberGenerator.Fill(_plaintext);
        _ratchetMessage = _aliceRecord.Encrypt(_plaintext);

        // The size of a real one-message envelope, random bytes after a valid version byte.
        _randomEnvelope = RandomNumberGenerator.GetBytes(SealedEnvelope.Overhead + _ratchetMessage.Length);
        _randomEnvelope[0] = ProtocolInfo.WireVersion;

        // Validly sealed by a contact, carrying a ratchet message whose every field after the version
        // and type is random: it names no session of the sender's.
        var bogus = RandomNumberGenerator.GetBytes(_ratchetMessage.Length);
        bogus[0] = ProtocolInfo.WireVersion;
        bogus[1] = (byte)MessageType.Message;
        _bogusUnknownSession = Seal(alice, bogus);

        // The same, but naming the sender's current session with small counters: the recipient must
        // take a DH ratchet step before the AEAD can refuse it (the most a bogus message costs short of
        // skipping keys).
        var newChain = (byte[])bogus.Clone();
        _aliceRecord.Current!.SessionId.CopyTo(newChain, 2);
        newChain.AsSpan(2 + 8 + 32, 8).Clear();
        _bogusNewChain = Seal(alice, newChain);
        if (Receive(_bogusNewChain) != ProtocolError.DecryptionFailed || Receive(_bogusUnknownSession) != ProtocolError.WrongSession)
        {
            throw new InvalidOperationException("The bogus envelopes are not refused as intended.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _bob.Dispose();
        _senders.ForEach(s => s.Dispose());
    }

    [Benchmark(Description = "seal + open a 256 B message's envelope")]
    public OpenedEnvelope SealAndOpen() => SealedEnvelope.Open(_bob, _bobAddress, Seal(_senders[0], _ratchetMessage));

    [Benchmark(Description = "whole message: ratchet encrypt + seal + open + record decrypt")]
    public byte[] WholeMessage()
    {
        var envelope = Seal(_senders[0], _aliceRecord.Encrypt(_plaintext));
        var opened = SealedEnvelope.Open(_bob, _bobAddress, envelope);
        return _records[opened.Sender].Decrypt(_bob, _bobPrekeys, opened, DateTimeOffset.UtcNow).Plaintext;
    }

    [Benchmark(Description = "junk: random envelope")]
    public ProtocolError? RandomEnvelope() => Receive(_randomEnvelope);

    [Benchmark(Description = "junk: sealed, bogus ratchet message naming no session")]
    public ProtocolError? BogusUnknownSession() => Receive(_bogusUnknownSession);

    [Benchmark(Description = "junk: sealed, bogus ratchet message on the sender's session (DH step)")]
    public ProtocolError? BogusNewChain() => Receive(_bogusNewChain);

    private byte[] Seal(IdentityKeyPair sender, byte[] content) =>
        SealedEnvelope.Seal(sender, DeviceAddress.PrimaryDeviceId, _bob.PublicIdentity, _bobAddress, EnvelopeContentType.RatchetMessage, content);

    /// <summary>A client's per-envelope work: open, find the named sender's record, decrypt with it.</summary>
    private ProtocolError? Receive(byte[] envelope)
    {
        try
        {
            var opened = SealedEnvelope.Open(_bob, _bobAddress, envelope);
            if (!_records.TryGetValue(opened.Sender, out var record))
            {
                return ProtocolError.WrongSession;
            }

            record.Decrypt(_bob, _bobPrekeys, opened, DateTimeOffset.UtcNow);
            return null;
        }
        catch (ProtocolException e)
        {
            return e.Reason;
        }
    }
}
