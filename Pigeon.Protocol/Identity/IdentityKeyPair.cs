using System.Security.Cryptography;
using NSec.Cryptography;
using Pigeon.Protocol.Prekeys;
using Pigeon.Protocol.Primitives;
using Pigeon.Protocol.Storage;

namespace Pigeon.Protocol.Identity;

/// <summary>
/// A user's long-term identity: an Ed25519 signing key and an X25519 agreement key, the first signing
/// the second. Holds private keys: keep it in the client only, store it with <see cref="Serialize"/>
/// (encrypted at rest) and dispose it when done.
/// </summary>
public sealed class IdentityKeyPair : IDisposable
{
    private static readonly byte[] Magic = "PGID"u8.ToArray();
    private const byte FormatVersion = 1;

    private readonly Key _signingKey;
    private readonly Key _agreementKey;
    private bool _disposed;

    private IdentityKeyPair(Key signingKey, Key agreementKey)
    {
        _signingKey = signingKey;
        _agreementKey = agreementKey;
        var signingPublic = signingKey.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        var agreementPublic = agreementKey.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        var signature = Ed25519Signer.Sign(signingKey, IdentitySignatures.AgreementKeyMessage(agreementPublic));
        PublicIdentity = new PublicIdentity(signingPublic, agreementPublic, signature);
        AccountId = PublicIdentity.AccountId;
    }

    /// <summary>The public half to register with the server and to hand to contacts.</summary>
    public PublicIdentity PublicIdentity { get; }

    /// <summary>This identity's self-certifying account id.</summary>
    public string AccountId { get; }

    internal Key AgreementKey
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _agreementKey;
        }
    }

    /// <summary>Creates a new random identity.</summary>
    public static IdentityKeyPair Generate()
    {
        return new IdentityKeyPair(Ed25519Signer.Generate(), X25519Dh.CreateKey());
    }

    /// <summary>Signs the gateway's login challenge, bound to this identity's account id.</summary>
    /// <exception cref="ArgumentException"><paramref name="accountId"/> is not this identity's id.</exception>
    public byte[] SignAuthChallenge(string accountId, ReadOnlySpan<byte> challenge)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!string.Equals(accountId, AccountId, StringComparison.Ordinal))
        {
            throw new ArgumentException("The account id is not this identity's.", nameof(accountId));
        }

        return Ed25519Signer.Sign(_signingKey, IdentitySignatures.AuthChallengeMessage(accountId, challenge));
    }

    /// <summary>Signs a prekey's kind, id and public key (verified by <see cref="IdentitySignatures.VerifyPrekey"/>).</summary>
    public byte[] SignPrekey(PrekeyKind kind, uint prekeyId, ReadOnlySpan<byte> publicKey)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return Ed25519Signer.Sign(_signingKey, IdentitySignatures.PrekeyMessage(kind, prekeyId, publicKey));
    }

    /// <summary>Signs a device list's encoding (verified by <see cref="Devices.DeviceList.Verify"/>).</summary>
    public byte[] SignDeviceList(Devices.DeviceList list)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(list);
        if (!string.Equals(list.AccountId, AccountId, StringComparison.Ordinal))
        {
            throw new ArgumentException("The device list is another account's.", nameof(list));
        }

        return Ed25519Signer.Sign(_signingKey, list.SignedMessage());
    }

    /// <summary>
    /// Versioned private blob: "PGID", version 1, the 32-byte Ed25519 seed, the 32-byte X25519 private key.
    /// The caller must encrypt it at rest and should zero it after use.
    /// </summary>
    public byte[] Serialize()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var writer = new BlobWriter(Magic.Length + 1 + 64);
        writer.WriteFixed(Magic);
        writer.WriteByte(FormatVersion);
        var seed = _signingKey.Export(KeyBlobFormat.RawPrivateKey);
        writer.WriteFixed(seed);
        CryptographicOperations.ZeroMemory(seed);
        var agreementPrivate = _agreementKey.Export(KeyBlobFormat.RawPrivateKey);
        writer.WriteFixed(agreementPrivate);
        CryptographicOperations.ZeroMemory(agreementPrivate);
        return writer.ToArrayAndErase();
    }

    /// <summary>Restores an identity from <see cref="Serialize"/>.</summary>
    /// <exception cref="ProtocolException"><see cref="ProtocolError.InvalidState"/> or <see cref="ProtocolError.UnsupportedVersion"/>.</exception>
    public static IdentityKeyPair Deserialize(ReadOnlySpan<byte> data)
    {
        var reader = new BlobReader(data, ProtocolError.InvalidState);
        StoredFormat.ReadHeader(ref reader, Magic, FormatVersion);
        var signingSeed = reader.ReadFixed(Ed25519Signer.PrivateKeySize);
        var agreementPrivate = reader.ReadFixed(X25519Dh.KeySize);
        reader.EnsureEnd();
        var signingKey = Ed25519Signer.Import(signingSeed);
        try
        {
            return new IdentityKeyPair(signingKey, X25519Dh.ImportPrivate(agreementPrivate));
        }
        catch
        {
            signingKey.Dispose();
            throw;
        }
    }

    /// <summary>Zeroes and releases the private keys.</summary>
    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            _signingKey.Dispose();
            _agreementKey.Dispose();
        }
    }
}
