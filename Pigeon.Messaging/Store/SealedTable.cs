using System.Buffers.Binary;
using System.Text;

namespace Pigeon.Messaging.Store;

/// <summary>
/// A table of sealed values by key: <c>(ref, version, sealed)</c>, where <c>ref</c> is the keyed
/// hash of the key (an account id, a message id, a name), so the file shows neither the key nor the
/// order rows were written in, and <c>sealed</c> opens only under the store key, in this table, at
/// this ref and this version. The plaintext holds the key itself (<c>u16 length ‖ key ‖ value</c>),
/// so every row can be sealed again under a new store key.
/// </summary>
internal sealed class SealedTable(ProfileDatabase database, string name)
{
    /// <summary>The statement that creates a sealed table.</summary>
    public static string CreateStatement(string name) =>
        $"CREATE TABLE {name} (ref BLOB PRIMARY KEY, version INTEGER NOT NULL, sealed BLOB NOT NULL) WITHOUT ROWID;";

    /// <summary>The table's name.</summary>
    public string Name => name;

    /// <summary>The value under <paramref name="key"/>, or null.</summary>
    public byte[]? Find(string key)
    {
        var rowKey = database.Lookup(name, key);
        var rows = database.Query($"SELECT version, sealed FROM {name} WHERE ref = $ref",
            reader => (Version: reader.GetInt64(0), Sealed: (byte[])reader[1]), ("$ref", rowKey));
        return rows.Count == 0 ? null : Split(database.OpenRow(name, rowKey, rows[0].Version, rows[0].Sealed), key).Value;
    }

    /// <summary>Every row (key and value), in no particular order.</summary>
    public List<(string Key, byte[] Value)> All() => database.Query($"SELECT ref, version, sealed FROM {name}",
        reader => Split(database.OpenRow(name, (byte[])reader[0], reader.GetInt64(1), (byte[])reader[2]), expectedKey: null));

    /// <summary>Stores <paramref name="value"/> under <paramref name="key"/>, one version after the one it replaces.</summary>
    public void Put(string key, ReadOnlySpan<byte> value)
    {
        var rowKey = database.Lookup(name, key);
        var version = (database.Scalar($"SELECT version FROM {name} WHERE ref = $ref", ("$ref", rowKey)) is long current ? current : 0) + 1;
        var keyBytes = Encoding.UTF8.GetBytes(key);
        var plaintext = new byte[2 + keyBytes.Length + value.Length];
        BinaryPrimitives.WriteUInt16BigEndian(plaintext, checked((ushort)keyBytes.Length));
        keyBytes.CopyTo(plaintext, 2);
        value.CopyTo(plaintext.AsSpan(2 + keyBytes.Length));
        try
        {
            database.Execute(
                $"""
                INSERT INTO {name} (ref, version, sealed) VALUES ($ref, $version, $sealed)
                ON CONFLICT (ref) DO UPDATE SET version = excluded.version, sealed = excluded.sealed
                """,
                ("$ref", rowKey), ("$version", version), ("$sealed", database.SealRow(name, rowKey, version, plaintext)));
        }
        finally
        {
            Array.Clear(plaintext);
        }
    }

    /// <summary>How many rows there are.</summary>
    public int Count() => (int)(long)database.Scalar($"SELECT count(*) FROM {name}")!;

    /// <summary>Deletes the row under <paramref name="key"/>; false when there was none.</summary>
    public bool Delete(string key) => database.Execute($"DELETE FROM {name} WHERE ref = $ref", ("$ref", database.Lookup(name, key))) > 0;

    /// <summary>Deletes every row.</summary>
    public void Clear() => database.Execute($"DELETE FROM {name}");

    private (string Key, byte[] Value) Split(byte[] plaintext, string? expectedKey)
    {
        try
        {
            var length = BinaryPrimitives.ReadUInt16BigEndian(plaintext);
            var key = Encoding.UTF8.GetString(plaintext, 2, length);
            // The ref already binds the key; this only catches a damaged or foreign plaintext.
            if (expectedKey is not null && key != expectedKey)
            {
                throw new FormatException("The row holds another key.");
            }

            return (key, plaintext[(2 + length)..]);
        }
        catch (Exception exception) when (exception is ArgumentException or FormatException or IndexOutOfRangeException)
        {
            throw new ProfileDamagedException(name, exception);
        }
        finally
        {
            Array.Clear(plaintext);
        }
    }
}
