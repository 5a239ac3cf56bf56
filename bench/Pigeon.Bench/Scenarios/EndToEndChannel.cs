using Pigeon.Bench.Api;
using Pigeon.Protocol;
using Pigeon.Protocol.Envelope;
using Pigeon.Protocol.Prekeys;
using Pigeon.Protocol.Wire;

namespace Pigeon.Bench.Scenarios;

/// <summary>
/// A one-way Double Ratchet session from a sender device to a recipient device, both held by the
/// bench, each message sealed to the recipient device's address as the client seals it
/// (<see cref="SealedEnvelope"/>, naming the sending device) and opened by it. As in the client, every
/// pair of devices has a session of its own, also between two devices of one account. The recipient's
/// prekeys never leave the process: the bundle is built locally, which costs the server nothing and
/// gives the bench real envelopes of the right size to carry.
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

    /// <summary>Who sends on this channel: one device.</summary>
    public VirtualUser Sender => _sender;

    /// <summary>Who receives on it: one device.</summary>
    public VirtualUser Recipient => _recipient;

    /// <summary>The sending device's address, which the sealed envelope proves.</summary>
    public DeviceAddress SenderAddress => new(_sender.AccountId, _sender.DeviceId);

    /// <summary>The receiving device's address, to which the envelope is sealed.</summary>
    public DeviceAddress RecipientAddress => new(_recipient.AccountId, _recipient.DeviceId);

    /// <summary>A session from device <paramref name="sender"/> to device <paramref name="recipient"/> (any devices, of one account or two).</summary>
    public EndToEndChannel(VirtualUser sender, VirtualUser recipient)
    {
        _sender = sender;
        _recipient = recipient;
        var now = DateTimeOffset.UtcNow;
        var signed = _recipientPrekeys.RotateSignedPrekey(recipient.Identity, now);
        var lastResort = _recipientPrekeys.RotateLastResortMlKemPrekey(recipient.Identity, now);
        _sending = Session.Initiate(sender.Identity, new PrekeyBundle(recipient.Identity.PublicIdentity, signed, null, lastResort), recipient.AccountId);
    }

    /// <summary>Encrypts in the session and seals the ratchet message from the sender device to the recipient device.</summary>
    public byte[] Encrypt(byte[] plaintext)
    {
        byte[] ratchetMessage;
        lock (_sendLock)
        {
            ratchetMessage = _sending.Encrypt(plaintext);
        }

        return SealedEnvelope.Seal(_sender.Identity, _sender.DeviceId, _recipient.Identity.PublicIdentity,
            RecipientAddress, EnvelopeContentType.RatchetMessage, ratchetMessage);
    }

    /// <summary>Decrypts a received payload; false when it does not authenticate.</summary>
    public bool TryDecrypt(byte[] payload)
    {
        try
        {
            var opened = SealedEnvelope.Open(_recipient.Identity, RecipientAddress, payload);
            return opened.Sender == SenderAddress && TryDecrypt(opened);
        }
        catch (ProtocolException)
        {
            return false;
        }
    }

    /// <summary>
    /// Decrypts a payload to a recipient device that has a channel from each of several sender devices
    /// (<paramref name="bySender"/>, by sender device address): opened once, then decrypted on the channel
    /// of the sender device it proves; false when it does not authenticate or no channel is from that device.
    /// </summary>
    public static bool TryDecryptAny(IReadOnlyDictionary<DeviceAddress, EndToEndChannel> bySender, byte[] payload)
    {
        var any = bySender.Values.First();
        try
        {
            var opened = SealedEnvelope.Open(any._recipient.Identity, any.RecipientAddress, payload);
            return bySender.TryGetValue(opened.Sender, out var channel) && channel.TryDecrypt(opened);
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
