namespace Pigeon.Protocol;

/// <summary>Constants shared by every part of the protocol.</summary>
public static class ProtocolInfo
{
    /// <summary>The wire format version this library writes.</summary>
    public const byte WireVersion = 1;
}
