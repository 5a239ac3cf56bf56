using System.Buffers.Binary;

namespace Pigeon.Protocol.Storage;

/// <summary>
/// Reads big-endian fields with every length checked; any shortfall raises the given
/// <see cref="ProtocolError"/> instead of an index exception.
/// </summary>
internal ref struct BlobReader
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly ProtocolError _error;
    private int _position;

    public BlobReader(ReadOnlySpan<byte> data, ProtocolError error)
    {
        _data = data;
        _error = error;
        _position = 0;
    }

    public readonly int Position => _position;

    public readonly int Remaining => _data.Length - _position;

    public byte ReadByte() => Take(1)[0];

    public bool ReadBool() => ReadByte() switch
    {
        0 => false,
        1 => true,
        _ => throw Fail("boolean is neither 0 nor 1"),
    };

    public uint ReadUInt32() => BinaryPrimitives.ReadUInt32BigEndian(Take(4));

    public long ReadInt64() => BinaryPrimitives.ReadInt64BigEndian(Take(8));

    public ReadOnlySpan<byte> ReadFixed(int length) => Take(length);

    public byte[] ReadFixedArray(int length) => Take(length).ToArray();

    /// <summary>Reads a u32-length-prefixed field no longer than <paramref name="maxLength"/>.</summary>
    public byte[] ReadVariable(int maxLength)
    {
        var length = ReadUInt32();
        if (length > (uint)maxLength)
        {
            throw Fail("field is longer than allowed");
        }

        return Take((int)length).ToArray();
    }

    public byte[]? ReadOptionalFixed(int length) => ReadBool() ? ReadFixedArray(length) : null;

    /// <summary>Reads a count and checks it against a bound before anything is allocated for it.</summary>
    public int ReadCount(int max)
    {
        var count = ReadUInt32();
        if (count > (uint)max)
        {
            throw Fail("count is larger than allowed");
        }

        return (int)count;
    }

    public ReadOnlySpan<byte> ReadRest()
    {
        var rest = _data[_position..];
        _position = _data.Length;
        return rest;
    }

    /// <summary>Requires that every byte was consumed: trailing data is refused.</summary>
    public readonly void EnsureEnd()
    {
        if (_position != _data.Length)
        {
            throw Fail("trailing bytes");
        }
    }

    public readonly ProtocolException Fail(string what) => new(_error, "Input refused: " + what + ".");

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count < 0 || count > _data.Length - _position)
        {
            throw Fail("truncated");
        }

        var span = _data.Slice(_position, count);
        _position += count;
        return span;
    }
}
