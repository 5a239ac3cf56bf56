using System.Data;
using Npgsql;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Database;

/// <summary>
/// Runs the stored clustering query texts the way Orleans does: looked up by key in OrleansQuery,
/// with parameters typed by DbType (Orleans' ADO.NET layer sets DbType.String, Int32, DateTime).
/// </summary>
public sealed class MembershipSqlTests
{
    private const string ClusterId = "membership-sql";
    private static readonly DateTime Start = new(2030, 1, 2, 3, 4, 5, DateTimeKind.Utc);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task MembershipVersionRow_InsertedTwice_ReportsOnlyTheFirst()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Ct);

        Assert.Equal(1, await ScalarAsync<int>(database, "InsertMembershipVersionKey", Cluster()));
        Assert.Equal(0, await ScalarAsync<int>(database, "InsertMembershipVersionKey", Cluster()));
    }

    [Fact]
    public async Task Membership_WritesWithAStaleVersion_ReturnFalseAndWriteNothing()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Ct);
        await ScalarAsync<int>(database, "InsertMembershipVersionKey", Cluster());

        Assert.True(await ScalarAsync<bool>(database, "InsertMembershipKey", Insert("10.0.0.1", expectedVersion: 0)));
        var afterFirst = await SnapshotAsync(database);
        Assert.Equal(1, afterFirst.Version);

        // Another silo read version 0 before the first insert: its insert must not land.
        Assert.False(await ScalarAsync<bool>(database, "InsertMembershipKey", Insert("10.0.0.2", expectedVersion: 0)));
        // The same silo row twice, even with the current version, is refused and bumps nothing.
        Assert.False(await ScalarAsync<bool>(database, "InsertMembershipKey", Insert("10.0.0.1", expectedVersion: 1)));
        // A status change based on version 0 is refused.
        Assert.False(await ScalarAsync<bool>(database, "UpdateMembershipKey", Update("10.0.0.1", status: 6, expectedVersion: 0)));
        // An update of a silo that has no row is refused, and the version bump with it.
        Assert.False(await ScalarAsync<bool>(database, "UpdateMembershipKey", Update("10.0.0.9", status: 6, expectedVersion: 1)));

        Assert.Equal(afterFirst, await SnapshotAsync(database));

        Assert.True(await ScalarAsync<bool>(database, "UpdateMembershipKey", Update("10.0.0.1", status: 6, expectedVersion: 1)));
        var afterUpdate = await SnapshotAsync(database);
        Assert.Equal(2, afterUpdate.Version);
        Assert.Equal(new[] { ("10.0.0.1", 6) }, afterUpdate.Members);
    }

    [Fact]
    public async Task MembershipReadRow_ForAnUnknownSilo_StillReturnsTheVersion()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Ct);
        await ScalarAsync<int>(database, "InsertMembershipVersionKey", Cluster());

        await using var command = await StoredCommandAsync(database, "MembershipReadRowKey",
            [.. Cluster(), Text("Address", "10.0.0.7"), Int("Port", 11111), Int("Generation", 1)]);
        await using var reader = await command.ExecuteReaderAsync(Ct);

        Assert.True(await reader.ReadAsync(Ct));
        Assert.Equal(0, reader.GetInt32(reader.GetOrdinal("Version")));
        Assert.True(reader.IsDBNull(reader.GetOrdinal("StartTime")));
        Assert.False(await reader.ReadAsync(Ct));
    }

    [Fact]
    public async Task DefunctCleanup_RemovesOnlyDeadSilosUnchangedSinceTheCutoff()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Ct);
        await ScalarAsync<int>(database, "InsertMembershipVersionKey", Cluster());
        Assert.True(await ScalarAsync<bool>(database, "InsertMembershipKey", Insert("10.0.0.1", expectedVersion: 0, status: 3)));
        Assert.True(await ScalarAsync<bool>(database, "InsertMembershipKey", Insert("10.0.0.2", expectedVersion: 1, status: 6)));
        Assert.True(await ScalarAsync<bool>(database, "InsertMembershipKey", Insert("10.0.0.3", expectedVersion: 2, status: 6)));

        // One row, only while it still holds the values the caller read.
        await ExecuteAsync(database, "CleanupDefunctSiloEntryKey", [.. Row("10.0.0.3"), Time("IAmAliveTime", Start.AddSeconds(1)), Time("StartTime", Start), Text("SuspectTimes", null)]);
        Assert.Equal(3, (await SnapshotAsync(database)).Members.Count);
        await ExecuteAsync(database, "CleanupDefunctSiloEntryKey", [.. Row("10.0.0.3"), Time("IAmAliveTime", Start), Time("StartTime", Start), Text("SuspectTimes", null)]);
        Assert.Equal(new[] { ("10.0.0.1", 3), ("10.0.0.2", 6) }, (await SnapshotAsync(database)).Members);

        await ExecuteAsync(database, "CleanupDefunctSiloEntriesKey", [.. Cluster(), Time("IAmAliveTime", Start.AddHours(1))]);
        var after = await SnapshotAsync(database);
        Assert.Equal(new[] { ("10.0.0.1", 3) }, after.Members);
        Assert.Equal(3, after.Version);
    }

    private static NpgsqlParameter[] Cluster() => [Text("DeploymentId", ClusterId)];

    private static NpgsqlParameter[] Row(string address) =>
        [.. Cluster(), Text("Address", address), Int("Port", 11111), Int("Generation", 1)];

    private static NpgsqlParameter[] Insert(string address, int expectedVersion, int status = 3) =>
    [
        .. Row(address), Text("SiloName", "silo-" + address), Text("HostName", "host"), Int("Status", status),
        Int("ProxyPort", 30000), Time("StartTime", Start), Time("IAmAliveTime", Start),
        Int("Version", expectedVersion),
    ];

    private static NpgsqlParameter[] Update(string address, int status, int expectedVersion) =>
    [
        .. Row(address), Int("Status", status), Text("SuspectTimes", null), Time("IAmAliveTime", Start.AddMinutes(1)),
        Int("Version", expectedVersion),
    ];

    private static NpgsqlParameter Text(string name, string? value) => new(name, DbType.String) { Value = (object?)value ?? DBNull.Value };

    private static NpgsqlParameter Int(string name, int value) => new(name, DbType.Int32) { Value = value };

    private static NpgsqlParameter Time(string name, DateTime value) => new(name, DbType.DateTime) { Value = value };

    private static async Task<NpgsqlCommand> StoredCommandAsync(TestDatabase database, string key, NpgsqlParameter[] parameters)
    {
        await using var lookup = database.DataSource.CreateCommand("SELECT QueryText FROM OrleansQuery WHERE QueryKey = @key");
        lookup.Parameters.AddWithValue("key", key);
        var text = (string?)await lookup.ExecuteScalarAsync(Ct) ?? throw new InvalidOperationException($"No query {key}.");
        var command = database.DataSource.CreateCommand(text);
        command.Parameters.AddRange(parameters);
        return command;
    }

    private static async Task<T> ScalarAsync<T>(TestDatabase database, string key, NpgsqlParameter[] parameters)
    {
        await using var command = await StoredCommandAsync(database, key, parameters);
        return (T)(await command.ExecuteScalarAsync(Ct))!;
    }

    private static async Task ExecuteAsync(TestDatabase database, string key, NpgsqlParameter[] parameters)
    {
        await using var command = await StoredCommandAsync(database, key, parameters);
        await command.ExecuteNonQueryAsync(Ct);
    }

    private static async Task<MembershipSnapshot> SnapshotAsync(TestDatabase database)
    {
        await using var version = database.DataSource.CreateCommand(
            "SELECT Version, Timestamp FROM OrleansMembershipVersionTable WHERE DeploymentId = @c");
        version.Parameters.AddWithValue("c", ClusterId);
        await using var versionReader = await version.ExecuteReaderAsync(Ct);
        await versionReader.ReadAsync(Ct);
        var number = versionReader.GetInt32(0);
        var stamp = versionReader.GetDateTime(1);
        await versionReader.DisposeAsync();

        await using var members = database.DataSource.CreateCommand(
            "SELECT Address, Status FROM OrleansMembershipTable WHERE DeploymentId = @c ORDER BY Address");
        members.Parameters.AddWithValue("c", ClusterId);
        await using var reader = await members.ExecuteReaderAsync(Ct);
        var rows = new List<(string, int)>();
        while (await reader.ReadAsync(Ct))
        {
            rows.Add((reader.GetString(0), reader.GetInt32(1)));
        }

        return new MembershipSnapshot(number, stamp, rows);
    }

    private sealed record MembershipSnapshot(int Version, DateTime Timestamp, List<(string Address, int Status)> Members)
    {
        public bool Equals(MembershipSnapshot? other) =>
            other is not null && Version == other.Version && Timestamp == other.Timestamp && Members.SequenceEqual(other.Members);

        public override int GetHashCode() => HashCode.Combine(Version, Timestamp);
    }
}
