using Orleans.Storage;

namespace Pigeon.Tests.Database;

[Collection(OrleansOnPostgresCollection.Name)]
public sealed class OrleansOnPostgresTests(OrleansOnPostgresFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Cluster_OfTwoSilos_IsActiveInTheMembershipTable()
    {
        var cluster = fixture.Cluster;
        await using var command = fixture.Database.DataSource.CreateCommand(
            "SELECT Status, ProxyPort FROM OrleansMembershipTable WHERE DeploymentId = @cluster");
        command.Parameters.AddWithValue("cluster", cluster.Options.ClusterId);
        await using var reader = await command.ExecuteReaderAsync(Ct);
        var rows = new List<(int Status, int ProxyPort)>();
        while (await reader.ReadAsync(Ct))
        {
            rows.Add((reader.GetInt32(0), reader.GetInt32(1)));
        }

        Assert.Equal(2, rows.Count);
        Assert.All(rows, row => Assert.Equal(3, row.Status));
        Assert.All(rows, row => Assert.True(row.ProxyPort > 0));
    }

    [Fact]
    public async Task GrainState_WrittenByOneActivation_IsReadByAFreshOne()
    {
        var grain = fixture.Cluster.Client.GetGrain<INamedStorageProbeGrain>("read-back-" + Guid.NewGuid().ToString("N"));

        await grain.WriteAsync("first");
        await grain.WriteAsync("second");
        await grain.DeactivateAsync();
        var snapshot = await grain.ReadAsync();

        Assert.Equal(new ProbeSnapshot("second", "2", RecordExists: true), snapshot);
    }

    [Fact]
    public async Task GrainState_WriteWithAStaleVersion_IsRefused()
    {
        var key = "stale-" + Guid.NewGuid().ToString("N");
        var grain = fixture.Cluster.Client.GetGrain<INamedStorageProbeGrain>(key);
        await grain.WriteAsync("mine");

        // Another writer (a duplicate activation in a split cluster) got there first.
        await using (var bump = fixture.Database.DataSource.CreateCommand(
            "UPDATE OrleansStorage SET Version = Version + 1 WHERE GrainIdExtensionString = @key"))
        {
            bump.Parameters.AddWithValue("key", key);
            Assert.Equal(1, await bump.ExecuteNonQueryAsync(Ct));
        }

        await Assert.ThrowsAsync<InconsistentStateException>(() => grain.WriteAsync("lost"));
    }

    [Fact]
    public async Task GrainState_FirstWriteRacingAnotherFirstWrite_IsRefused()
    {
        var id = Random.Shared.NextInt64(1, long.MaxValue);
        var grain = fixture.Cluster.Client.GetGrain<INumberedStorageProbeGrain>(id);
        await grain.WriteAsync("seed");

        // Remember the row, delete it through Orleans (ETag back to none), then let "another
        // activation" insert it again: this activation's next write is a first write that loses.
        await using (var copy = fixture.Database.DataSource.CreateCommand(
            "CREATE TABLE race_copy_" + id + " AS SELECT * FROM OrleansStorage WHERE GrainIdN1 = @id"))
        {
            copy.Parameters.AddWithValue("id", id);
            await copy.ExecuteNonQueryAsync(Ct);
        }

        await grain.ClearAsync();
        Assert.Null((await grain.ReadAsync()).ETag);
        await using (var other = fixture.Database.DataSource.CreateCommand(
            "INSERT INTO OrleansStorage SELECT * FROM race_copy_" + id + "; DROP TABLE race_copy_" + id))
        {
            await other.ExecuteNonQueryAsync(Ct);
        }

        await Assert.ThrowsAsync<InconsistentStateException>(() => grain.WriteAsync("second"));
        Assert.Equal(1, await CountRowsAsync(id));
    }

    [Fact]
    public async Task GrainState_Cleared_KeepsTheRowWithoutPayload()
    {
        var key = "clear-" + Guid.NewGuid().ToString("N");
        var grain = fixture.Cluster.Client.GetGrain<INamedStorageProbeGrain>(key);
        await grain.WriteAsync("to be cleared");

        await grain.ClearAsync();
        Assert.Equal(new ProbeSnapshot(null, "2", RecordExists: false), await grain.ReadAsync());
        await grain.DeactivateAsync();
        Assert.Equal(new ProbeSnapshot(null, "2", RecordExists: false), await grain.ReadAsync());

        await grain.WriteAsync("again");
        await grain.DeactivateAsync();
        Assert.Equal(new ProbeSnapshot("again", "3", RecordExists: true), await grain.ReadAsync());
    }

    [Fact]
    public async Task GrainState_WithIntegerKeyAndDeleteOnClear_UsesOneRowAndDeletesIt()
    {
        var id = Random.Shared.NextInt64(1, long.MaxValue);
        var grain = fixture.Cluster.Client.GetGrain<INumberedStorageProbeGrain>(id);

        await grain.WriteAsync("one");
        await grain.WriteAsync("two");
        Assert.Equal(1, await CountRowsAsync(id));

        await grain.ClearAsync();
        Assert.Equal(new ProbeSnapshot(null, null, RecordExists: false), await grain.ReadAsync());
        Assert.Equal(0, await CountRowsAsync(id));

        await grain.WriteAsync("three");
        await grain.DeactivateAsync();
        Assert.Equal(new ProbeSnapshot("three", "1", RecordExists: true), await grain.ReadAsync());
    }

    // Integer keys carry no extension string: the row's GrainIdExtensionString is NULL.
    private async Task<long> CountRowsAsync(long id)
    {
        await using var command = fixture.Database.DataSource.CreateCommand(
            "SELECT count(*) FROM OrleansStorage WHERE GrainIdN1 = @id AND GrainIdExtensionString IS NULL");
        command.Parameters.AddWithValue("id", id);
        return (long)(await command.ExecuteScalarAsync(Ct))!;
    }
}
