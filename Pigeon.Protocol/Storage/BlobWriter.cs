using System.Buffers.Binary;

namespace Pigeon.Protocol.Storage;

/// <summary>Appends big-endian fields to a growing buffer; used by the wire format and stored blobs.</summary>
internal sealed class BlobWriter
{
    private byte[] _buffer;
    private int _length;

    public BlobWriter(int capacity = 256) => _buffer = new byte[capacity];

    public int Length => _length;

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _length);

    public void WriteByte(byte value) => Reserve(1)[0] = value;

    public void WriteBool(bool value) => WriteByte(value ? (byte)1 : (byte)0);

    public void WriteUInt32(uint value) => BinaryPrimitives.WriteUInt32BigEndian(Reserve(4), value);

    public void WriteInt64(long value) => BinaryPrimitives.WriteInt64BigEndian(Reserve(8), value);

    /// <summary>Writes bytes whose length the reader knows in advance.</summary>
    public void WriteFixed(ReadOnlySpan<byte> value) => value.CopyTo(Reserve(value.Length));

    /// <summary>Writes a u32 length prefix and the bytes.</summary>
    public void WriteVariable(ReadOnlySpan<byte> value)
    {
        WriteUInt32((uint)value.Length);
        WriteFixed(value);
    }

    /// <summary>Writes a presence byte and, when present, the fixed-size bytes.</summary>
    public void WriteOptionalFixed(byte[]? value)
    {
        WriteBool(value is not null);
        if (value is not null)
        {
            WriteFixed(value);
        }
    }

    public byte[] ToArray() => _buffer.AsSpan(0, _length).ToArray();

    /// <summary>Copies the result out and zeroes the working buffer (it may have held secrets).</summary>
    public byte[] ToArrayAndErase()
    {
        var result = ToArray();
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(_buffer);
        return result;
    }

    private Span<byte> Reserve(int count)
    {
        if (_length + count > _buffer.Length)
        {
            var bigger = new byte[Math.Max(_buffer.Length * 2, _length + count)];
            _buffer.AsSpan(0, _length).CopyTo(bigger);
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(_buffer);
            _buffer = bigger;
        }

        var span = _buffer.AsSpan(_length, count);
        _length += count;
        return span;
    }
}
