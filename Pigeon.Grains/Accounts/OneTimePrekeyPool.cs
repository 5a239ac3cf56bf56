using Npgsql;
using Pigeon.Grains.Abstractions.Accounts;

namespace Pigeon.Grains.Accounts;

/// <summary>The pools of one-time prekeys, one pair per device, one row per key (sql/0004, sql/0008).</summary>
internal sealed class OneTimePrekeyPool(NpgsqlDataSource dataSource)
{
    // One statement for both pools, so that an upload is stored whole or not at all.
    private const string InsertSql = """
        INSERT INTO pigeon.one_time_prekeys (account_id, device_id, kind, key_id, public_key, signature, uploaded_at)
        SELECT @account_id, @device_id, k.kind, k.key_id, k.public_key, k.signature, @now
        FROM unnest(@kinds::smallint[], @key_ids::bigint[], @public_keys::bytea[], @signatures::bytea[]) AS k(kind, key_id, public_key, signature)
        ON CONFLICT (account_id, device_id, kind, key_id) DO NOTHING
        """;

    // Each pool gives up its oldest key; SKIP LOCKED keeps two takers from ever getting the same row.
    private const string TakeSql = """
        WITH x25519 AS (
            SELECT account_id, device_id, kind, key_id FROM pigeon.one_time_prekeys
            WHERE account_id = @account_id AND device_id = @device_id AND kind = 1 ORDER BY key_id LIMIT 1 FOR UPDATE SKIP LOCKED
        ),
        kem AS (
            SELECT account_id, device_id, kind, key_id FROM pigeon.one_time_prekeys
            WHERE account_id = @account_id AND device_id = @device_id AND kind = 2 ORDER BY key_id LIMIT 1 FOR UPDATE SKIP LOCKED
        )
        DELETE FROM pigeon.one_time_prekeys p
        USING (SELECT * FROM x25519 UNION ALL SELECT * FROM kem) chosen
        WHERE p.account_id = chosen.account_id AND p.device_id = chosen.device_id AND p.kind = chosen.kind AND p.key_id = chosen.key_id
        RETURNING p.kind, p.key_id, p.public_key, p.signature
        """;

    private const string CountSql = """
        SELECT kind, count(*), min(key_id) FROM pigeon.one_time_prekeys WHERE account_id = @account_id AND device_id = @device_id GROUP BY kind
        """;

    private const string DeleteDevicesSql = """
        DELETE FROM pigeon.one_time_prekeys WHERE account_id = @account_id AND device_id = ANY(@device_ids::bigint[])
        """;

    /// <summary>Adds prekeys to both pools in one statement, ignoring ids already there; returns how many were added.</summary>
    public async Task<int> AddAsync(
        string accountId, uint deviceId, IReadOnlyList<Prekey> x25519, IReadOnlyList<Prekey> kem, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (x25519.Count + kem.Count == 0)
        {
            return 0;
        }

        IEnumerable<(OneTimePrekeyKind Kind, Prekey Key)> keys =
            [.. x25519.Select(p => (OneTimePrekeyKind.X25519, p)), .. kem.Select(p => (OneTimePrekeyKind.MlKem1024, p))];
        await using var command = dataSource.CreateCommand(InsertSql);
        command.Parameters.Add(new NpgsqlParameter<string>("account_id", accountId));
        command.Parameters.Add(new NpgsqlParameter<long>("device_id", deviceId));
        command.Parameters.Add(new NpgsqlParameter<short[]>("kinds", [.. keys.Select(k => (short)k.Kind)]));
        command.Parameters.Add(new NpgsqlParameter<long[]>("key_ids", [.. keys.Select(k => (long)k.Key.Id)]));
        command.Parameters.Add(new NpgsqlParameter<byte[][]>("public_keys", [.. keys.Select(k => k.Key.PublicKey)]));
        command.Parameters.Add(new NpgsqlParameter<byte[]?[]>("signatures", [.. keys.Select(k => k.Key.Signature)]));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("now", now));
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Removes and returns the oldest key of each pool, when the pool has one.</summary>
    public async Task<(Prekey? X25519, Prekey? Kem)> TakeOneOfEachAsync(string accountId, uint deviceId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(TakeSql);
        command.Parameters.Add(new NpgsqlParameter<string>("account_id", accountId));
        command.Parameters.Add(new NpgsqlParameter<long>("device_id", deviceId));
        Prekey? x25519 = null, kem = null;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var prekey = new Prekey(
                checked((uint)reader.GetInt64(1)),
                reader.GetFieldValue<byte[]>(2),
                reader.IsDBNull(3) ? null : reader.GetFieldValue<byte[]>(3));
            if ((OneTimePrekeyKind)reader.GetInt16(0) == OneTimePrekeyKind.X25519)
            {
                x25519 = prekey;
            }
            else
            {
                kem = prekey;
            }
        }

        return (x25519, kem);
    }

    /// <summary>Deletes every one-time prekey of the devices <paramref name="deviceIds"/> (removed devices); returns how many.</summary>
    public async Task<int> DeleteDevicesAsync(string accountId, IReadOnlyCollection<uint> deviceIds, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(DeleteDevicesSql);
        command.Parameters.Add(new NpgsqlParameter<string>("account_id", accountId));
        command.Parameters.Add(new NpgsqlParameter<long[]>("device_ids", [.. deviceIds.Select(d => (long)d)]));
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>How many keys each pool holds, and the lowest id in each (null when empty).</summary>
    public async Task<PoolSizes> CountAsync(string accountId, uint deviceId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(CountSql);
        command.Parameters.Add(new NpgsqlParameter<string>("account_id", accountId));
        command.Parameters.Add(new NpgsqlParameter<long>("device_id", deviceId));
        var sizes = new PoolSizes(0, 0, null, null);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var count = checked((int)reader.GetInt64(1));
            var lowest = checked((uint)reader.GetInt64(2));
            sizes = (OneTimePrekeyKind)reader.GetInt16(0) == OneTimePrekeyKind.X25519
                ? sizes with { X25519 = count, LowestX25519 = lowest }
                : sizes with { Kem = count, LowestKem = lowest };
        }

        return sizes;
    }
}

/// <summary>The sizes of a device's two one-time prekey pools and their lowest ids.</summary>
internal sealed record PoolSizes(int X25519, int Kem, uint? LowestX25519, uint? LowestKem);
