using Pigeon.Protocol;
using Pigeon.Protocol.Identity;
using Pigeon.Protocol.Prekeys;
using Pigeon.Protocol.Ratchet;
using Pigeon.Protocol.Wire;

namespace Pigeon.Tests.Protocol.Wire;

public sealed class WireFormatTests
{
    private const int PreludeSize = 128 + 32 + 4 + 1 + 4 + 4 + 1568;

    [Fact]
    public void Wire_Layout_IsAsDocumented()
    {
        using var pair = new EstablishedPair();
        var prekeyMessage = pair.AliceSession.Encrypt(new byte[10]);
        Assert.Equal(2 + PreludeSize + WireMessage.HeaderSize + 64 + 16, prekeyMessage.Length);
        Assert.Equal(ProtocolInfo.WireVersion, prekeyMessage[0]);
        Assert.Equal((byte)MessageType.PrekeyMessage, prekeyMessage[1]);
        Assert.Equal(pair.Alice.Identity.PublicIdentity.ToBytes(), prekeyMessage[2..130]);

        var parsed = WireMessage.Parse(prekeyMessage);
        Assert.Equal(pair.Alice.AccountId, parsed.Prelude!.SenderAccountId);
        Assert.Equal(pair.Bob.OneTime[0].Id, parsed.Prelude.OneTimePrekeyId);
        Assert.Equal(pair.Bob.MlKem[0].Id, parsed.Prelude.MlKemPrekeyId);
        Assert.Equal(pair.Bob.SignedPrekey.Id, parsed.Prelude.SignedPrekeyId);
        Assert.Equal(1u, parsed.Header.MessageNumber);
        var header = 2 + PreludeSize;
        Assert.Equal(pair.AliceSession.SessionId, prekeyMessage[header..(header + 8)]);
        Assert.Equal(pair.BobSession.SessionId, pair.AliceSession.SessionId);
        Assert.Equal(parsed.Header.MessageSalt, prekeyMessage[(header + 8 + 32 + 8)..(header + 64)]);

        var reply = pair.BobSession.Encrypt(new byte[10]);
        Assert.Equal(2 + WireMessage.HeaderSize + 64 + 16, reply.Length);
        Assert.Null(WireMessage.Parse(reply).Prelude);
    }

    [Fact]
    public void Wire_EveryTruncation_RaisesOnlyTheTypedException()
    {
        using var pair = new EstablishedPair(withOneTime: true);
        var prekeyMessage = pair.AliceSession.Encrypt("truncate me"u8);
        var reply = pair.BobSession.Encrypt("and me"u8);
        foreach (var (wire, receiver) in new[] { (prekeyMessage, pair.BobSession), (reply, pair.AliceSession) })
        {
            for (var length = 0; length < wire.Length; length++)
            {
                var truncated = wire.AsSpan(0, length).ToArray();
                Refused.By(() => WireMessage.Parse(truncated));
                Refused.By(() => receiver.Decrypt(truncated));
                Refused.By(() => Session.Accept(pair.Bob.Identity, pair.Bob.Prekeys, truncated));
            }
        }
    }

    [Fact]
    public void Wire_UnknownVersions_AreRefused()
    {
        using var pair = new EstablishedPair();
        var wire = pair.BobSession.Encrypt("v"u8);
        for (var version = 0; version < 256; version++)
        {
            if (version == ProtocolInfo.WireVersion)
            {
                continue;
            }

            var changed = (byte[])wire.Clone();
            changed[0] = (byte)version;
            Refused.By(() => WireMessage.Parse(changed), ProtocolError.UnsupportedVersion);
            Refused.By(() => pair.AliceSession.Decrypt(changed), ProtocolError.UnsupportedVersion);
        }
    }

    [Fact]
    public void Wire_UnknownTypesAndFlags_AreRefused()
    {
        using var pair = new EstablishedPair();
        var prekeyMessage = pair.AliceSession.Encrypt("flags"u8);
        foreach (var type in new byte[] { 0, 3, 255 })
        {
            var changed = (byte[])prekeyMessage.Clone();
            changed[1] = type;
            Refused.By(() => WireMessage.Parse(changed), ProtocolError.Malformed);
        }

        var flagsOffset = 2 + 128 + 32 + 4;
        for (var bit = 1; bit < 8; bit++)
        {
            var changed = (byte[])prekeyMessage.Clone();
            changed[flagsOffset] |= (byte)(1 << bit);
            Refused.By(() => WireMessage.Parse(changed), ProtocolError.Malformed);
        }
    }

    [Fact]
    public void Wire_BodyThatIsNotABucketPlusTag_IsRefused()
    {
        using var pair = new EstablishedPair();
        var wire = pair.BobSession.Encrypt("bucket"u8);
        Refused.By(() => WireMessage.Parse([.. wire, 0]), ProtocolError.Malformed);
        Refused.By(() => WireMessage.Parse([.. wire, .. new byte[32]]), ProtocolError.Malformed);
        Refused.By(() => WireMessage.Parse(wire.AsSpan(0, wire.Length - 1)), ProtocolError.Malformed);
        var prefix = wire.AsSpan(0, 2 + WireMessage.HeaderSize).ToArray();
        Refused.By(() => WireMessage.Parse([.. prefix, .. new byte[Padding.MaxPaddedSize + 16 + Padding.LinearStep]]), ProtocolError.TooLarge);
        Refused.By(() => WireMessage.Parse([.. prefix, .. new byte[16]]), ProtocolError.Malformed);
    }

    [Fact]
    public void Wire_RandomGarbage_RaisesOnlyTheTypedException()
    {
        using var pair = new EstablishedPair();
        var template = pair.AliceSession.Encrypt("template"u8);
        const int seed = 20261125;
        var random = new Random(seed);
        for (var i = 0; i < 300; i++)
        {
            var data = new byte[random.Next(0, 2 * template.Length)];
            random.NextBytes(data);
            if (i % 2 == 0 && data.Length > 2)
            {
                // Plausible start so that parsing gets further than the version byte.
                data[0] = ProtocolInfo.WireVersion;
                data[1] = (byte)random.Next(1, 3);
            }

            try
            {
                pair.BobSession.Decrypt(data);
                Assert.Fail($"garbage {i} (seed {seed}) was accepted");
            }
            catch (ProtocolException)
            {
            }

            try
            {
                Session.Accept(pair.Bob.Identity, pair.Bob.Prekeys, data);
                Assert.Fail($"garbage {i} (seed {seed}) was accepted");
            }
            catch (ProtocolException)
            {
            }
        }
    }

    [Fact]
    public void Wire_MessageFromAnotherIdentitysPrelude_WithValidStructure_IsRefusedTyped()
    {
        using var pair = new EstablishedPair();
        var wire = Session.Initiate(pair.Alice.Identity, pair.Bob.Bundle() with { OneTimePrekey = pair.Bob.OneTime[1], MlKemPrekey = pair.Bob.MlKem[1] }, pair.Bob.AccountId).Encrypt("x"u8);

        // A syntactically perfect prelude naming prekeys Bob never had.
        var badIds = (byte[])wire.Clone();
        badIds[2 + 128 + 32] ^= 0xFF;
        Refused.By(() => Session.Accept(pair.Bob.Identity, pair.Bob.Prekeys, badIds), ProtocolError.UnknownPrekey);

        // A low-order ephemeral key.
        using var alice = new TestParty();
        using var bob = new TestParty();
        var first = Session.Initiate(alice.Identity, bob.Bundle(), bob.AccountId).Encrypt("x"u8);
        Array.Clear(first, 2 + 128, 32);
        Session.SessionIdOf(new byte[32]).CopyTo(first, 2 + PreludeSize);
        Refused.By(() => Session.Accept(bob.Identity, bob.Prekeys, first), ProtocolError.InvalidKey);
    }

    [Fact]
    public void StoredBlobs_EveryTruncationAndUnknownVersion_RaiseOnlyTheTypedException()
    {
        using var pair = new EstablishedPair();
        pair.AliceSession.Decrypt(pair.BobSession.Encrypt("ack"u8));
        pair.BobSession.Encrypt("skipped"u8);
        pair.AliceSession.Decrypt(pair.BobSession.Encrypt("creates a skipped key"u8));

        var blobs = new (byte[] Blob, Action<byte[]> Load)[]
        {
            (pair.AliceSession.Serialize(), b => Session.Deserialize(b)),
            (pair.Alice.Identity.Serialize(), b => IdentityKeyPair.Deserialize(b).Dispose()),
            (new TestParty(oneTimePrekeys: 1, mlKemPrekeys: 1).Prekeys.Serialize(), b => PrekeyStore.Deserialize(b)),
        };
        foreach (var (blob, load) in blobs)
        {
            load(blob);
            for (var length = 0; length < blob.Length; length++)
            {
                var truncated = blob.AsSpan(0, length).ToArray();
                Refused.By(() => load(truncated));
            }

            Refused.By(() => load([.. blob, 0]), ProtocolError.InvalidState);
            var version = (byte[])blob.Clone();
            version[4] = 0xFE;
            Refused.By(() => load(version), ProtocolError.UnsupportedVersion);
            var magic = (byte[])blob.Clone();
            magic[0] ^= 1;
            Refused.By(() => load(magic), ProtocolError.InvalidState);
        }
    }
}
