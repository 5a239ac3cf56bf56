namespace Pigeon.Protocol;

/// <summary>Constants shared by every part of the protocol.</summary>
public static class ProtocolInfo
{
    /// <summary>The wire format version this library writes and the only one it reads.</summary>
    public const byte WireVersion = 2;

    /// <summary>Size of Ed25519 and X25519 public keys.</summary>
    public const int PublicKeySize = 32;

    /// <summary>Size of an Ed25519 signature.</summary>
    public const int SignatureSize = 64;

    /// <summary>Size of an ML-KEM-1024 encapsulation (public) key.</summary>
    public const int MlKemPublicKeySize = 1568;

    /// <summary>Size of an ML-KEM-1024 ciphertext.</summary>
    public const int MlKemCiphertextSize = 1568;
}
