namespace Pigeon.Protocol.Storage;

/// <summary>The common header of stored blobs: a four-byte magic naming the kind, then a version byte.</summary>
internal static class StoredFormat
{
    public static void ReadHeader(ref BlobReader reader, ReadOnlySpan<byte> magic, byte version)
    {
        if (!reader.ReadFixed(magic.Length).SequenceEqual(magic))
        {
            throw new ProtocolException(ProtocolError.InvalidState, "Stored blob is not of the expected kind.");
        }

        var found = reader.ReadByte();
        if (found != version)
        {
            throw new ProtocolException(ProtocolError.UnsupportedVersion, $"Stored blob version {found} is not supported.");
        }
    }

    public static void WriteHeader(BlobWriter writer, ReadOnlySpan<byte> magic, byte version)
    {
        writer.WriteFixed(magic);
        writer.WriteByte(version);
    }
}
