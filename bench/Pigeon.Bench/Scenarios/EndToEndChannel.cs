using Pigeon.Bench.Api;
using Pigeon.Protocol;
using Pigeon.Protocol.Prekeys;
using Pigeon.Protocol.Wire;

namespace Pigeon.Bench.Scenarios;

/// <summary>
/// A one-way Double Ratchet session from a sender to a recipient, both held by the bench. The
/// recipient's prekeys never leave the process: the bundle is built locally, which costs the server
/// nothing and gives the bench real ciphertext of the right size to carry.
/// </summary>
internal sealed class EndToEndChannel
{
    private readonly Session _sending;
    private readonly VirtualUser _recipient;
    private readonly PrekeyStore _recipientPrekeys = new();
    private readonly Lock _sendLock = new();
    private readonly Lock _receiveLock = new();
    private Session? _receiving;

    public EndToEndChannel(VirtualUser sender, VirtualUser recipient)
    {
        _recipient = recipient;
        var now = DateTimeOffset.UtcNow;
        var signed = _recipientPrekeys.RotateSignedPrekey(recipient.Identity, now);
        var lastResort = _recipientPrekeys.RotateLastResortMlKemPrekey(recipient.Identity, now);
        _sending = Session.Initiate(sender.Identity, new PrekeyBundle(recipient.Identity.PublicIdentity, signed, null, lastResort), recipient.AccountId);
    }

    public byte[] Encrypt(byte[] plaintext)
    {
        lock (_sendLock)
        {
            return _sending.Encrypt(plaintext);
        }
    }

    /// <summary>Decrypts a received payload; false when it does not authenticate.</summary>
    public bool TryDecrypt(byte[] payload)
    {
        lock (_receiveLock)
        {
            try
            {
                var message = WireMessage.Parse(payload);
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
