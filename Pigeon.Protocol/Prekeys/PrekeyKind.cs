namespace Pigeon.Protocol.Prekeys;

/// <summary>The kinds of prekey; the value is part of every prekey signature, so it never changes.</summary>
public enum PrekeyKind : byte
{
    /// <summary>The medium-term X25519 prekey (PQXDH "SPK"), signed and rotated.</summary>
    SignedX25519 = 1,

    /// <summary>A one-time X25519 prekey (PQXDH "OPK"), deleted after use; not signed.</summary>
    OneTimeX25519 = 2,

    /// <summary>A signed one-time ML-KEM-1024 prekey (PQXDH "PQOPK"), deleted after use.</summary>
    MlKem1024 = 3,

    /// <summary>The signed last-resort ML-KEM-1024 prekey (PQXDH "PQSPK"), used when no one-time one is left.</summary>
    MlKem1024LastResort = 4,
}
