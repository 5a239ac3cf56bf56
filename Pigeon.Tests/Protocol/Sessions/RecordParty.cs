using Pigeon.Protocol;
using Pigeon.Protocol.Envelope;
using Pigeon.Protocol.Wire;

namespace Pigeon.Tests.Protocol.Sessions;

/// <summary>A test party with one <see cref="SessionRecord"/> for its peer, sending and receiving through sealed envelopes.</summary>
internal sealed class RecordParty : IDisposable
{
    public RecordParty() => Party = new TestParty();

    public TestParty Party { get; }

    public SessionRecord Record { get; set; } = new();

    public string AccountId => Party.AccountId;

    /// <summary>Starts a new session with <paramref name="peer"/> from its bundle (no one-time prekey) and makes it current.</summary>
    public Session Start(RecordParty peer)
    {
        var session = Session.Initiate(Party.Identity, peer.Party.Bundle(withOneTime: false, lastResort: true), peer.AccountId);
        Record.Activate(session);
        return session;
    }

    /// <summary>Alice starts a session with Bob, Bob accepts her first message, Alice reads his reply.</summary>
    public static void Establish(RecordParty alice, RecordParty bob)
    {
        alice.Start(bob);
        bob.Receive(alice.Send(bob, "hello"u8.ToArray()));
        alice.Receive(bob.Send(alice, "hi"u8.ToArray()));
    }

    /// <summary>Encrypts with the current session and seals the message to <paramref name="peer"/>.</summary>
    public byte[] Send(RecordParty peer, byte[] plaintext) => SealedEnvelope.Seal(
        Party.Identity, DeviceAddress.PrimaryDeviceId, peer.Party.Identity.PublicIdentity, DeviceAddress.Primary(peer.AccountId),
        EnvelopeContentType.RatchetMessage, Record.Encrypt(plaintext));

    /// <summary>Opens an envelope and decrypts it with the record.</summary>
    public SessionRecordDecryption Receive(byte[] envelope, DateTimeOffset? now = null)
    {
        var opened = SealedEnvelope.Open(Party.Identity, DeviceAddress.Primary(AccountId), envelope);
        return Record.Decrypt(Party.Identity, Party.Prekeys, opened, now ?? TestParty.Now);
    }

    /// <summary>The ratchet message inside an envelope this party can open.</summary>
    public WireMessage Inner(byte[] envelope) =>
        WireMessage.Parse(SealedEnvelope.Open(Party.Identity, DeviceAddress.Primary(AccountId), envelope).Content);

    /// <summary>Record and prekeys as stored: equal before and after means nothing changed.</summary>
    public byte[] Snapshot() => [.. Record.Serialize(), .. Party.Prekeys.Serialize()];

    public void Dispose() => Party.Dispose();
}
