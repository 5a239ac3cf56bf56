using Pigeon.Bench.Api;
using Pigeon.Protocol;
using Pigeon.Protocol.Envelope;
using Pigeon.Protocol.Prekeys;
using Pigeon.Protocol.Wire;

namespace Pigeon.Bench.Scenarios;

/// <summary>
/// A one-way Double Ratchet session from a sender to a recipient, both held by the bench, each
/// message sealed to the recipient as the client seals it (<see cref="SealedEnvelope"/>) and opened
/// by it. The recipient's prekeys never leave the process: the bundle is built locally, which costs
/// the server nothing and gives the bench real envelopes of the right size to carry.
/// </summary>
internal sealed class EndToEndChannel
{
    private readonly Session _sending;
    private readonly VirtualUser _sender;
    private readonly VirtualUser _recipient;
    private readonly PrekeyStore _recipientPrekeys = new();
    private readonly Lock _sendLock = new();
    private readonly Lock _receiveLock = new();
    private Session? _receiving;

    /// <summary>Who sends on this channel.</summary>
    public VirtualUser Sender => _sender;

    /// <summary>Who receives on it.</summary>
    public VirtualUser Recipient => _recipient;

    public EndToEndChannel(VirtualUser sender, VirtualUser recipient)
    {
        _sender = sender;
        _recipient = recipient;
        var now = DateTimeOffset.UtcNow;
        var signed = _recipientPrekeys.RotateSignedPrekey(recipient.Identity, now);
        var lastResort = _recipientPrekeys.RotateLastResortMlKemPrekey(recipient.Identity, now);
        _sending = Session.Initiate(sender.Identity, new PrekeyBundle(recipient.Identity.PublicIdentity, signed, null, lastResort), recipient.AccountId);
    }

    /// <summary>Encrypts in the session and seals the ratchet message from the sender to the recipient.</summary>
    public byte[] Encrypt(byte[] plaintext)
    {
        byte[] ratchetMessage;
        lock (_sendLock)
        {
            ratchetMessage = _sending.Encrypt(plaintext);
        }

        return SealedEnvelope.Seal(_sender.Identity, DeviceAddress.PrimaryDeviceId, _recipient.Identity.PublicIdentity,
            DeviceAddress.Primary(_recipient.AccountId), EnvelopeContentType.RatchetMessage, ratchetMessage);
    }

    /// <summary>Decrypts a received payload; false when it does not authenticate.</summary>
    public bool TryDecrypt(byte[] payload)
    {
        try
        {
            var opened = SealedEnvelope.Open(_recipient.Identity, DeviceAddress.Primary(_recipient.AccountId), payload);
            return opened.Sender.AccountId == _sender.AccountId && TryDecrypt(opened);
        }
        catch (ProtocolException)
        {
            return false;
        }
    }

    /// <summary>
    /// Decrypts a payload to a recipient who has a channel from each of several senders
    /// (<paramref name="bySender"/>, by sender account id): opened once, then decrypted on the channel of
    /// the sender it proves; false when it does not authenticate or no channel is from that sender.
    /// </summary>
    public static bool TryDecryptAny(IReadOnlyDictionary<string, EndToEndChannel> bySender, byte[] payload)
    {
        var recipient = bySender.Values.First()._recipient;
        try
        {
            var opened = SealedEnvelope.Open(recipient.Identity, DeviceAddress.Primary(recipient.AccountId), payload);
            return bySender.TryGetValue(opened.Sender.AccountId, out var channel) && channel.TryDecrypt(opened);
        }
        catch (ProtocolException)
        {
            return false;
        }
    }

    private bool TryDecrypt(OpenedEnvelope opened)
    {
        lock (_receiveLock)
        {
            try
            {
                var message = WireMessage.Parse(opened.Content);
                if (message.Prelude is not null && _receiving?.IsSetupOf(message) != true)
                {
                    _receiving = Session.Accept(_recipient.Identity, _recipientPrekeys, message).Session;
                    return true;
                }

                _receiving?.Decrypt(message);
                return _receiving is not null;
            }
            catch (ProtocolException)
            {
                return false;
            }
        }
    }
}
