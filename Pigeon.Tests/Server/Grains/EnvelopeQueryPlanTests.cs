using System.Text.Json;
using Npgsql;
using Pigeon.Grains.Hosting;
using Pigeon.Grains.Mailboxes;

namespace Pigeon.Tests.Grains;

/// <summary>
/// The envelope tables are queues, so their statistics often say "empty" while the heap is full of
/// dead rows; the grains' sessions must keep to the indexes regardless (see PigeonDatabaseSettings).
/// </summary>
[Collection(PigeonClusterCollection.Name)]
public sealed class EnvelopeQueryPlanTests(PigeonClusterFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task GroupCommitStatements_WithTablesAnalysedAsTiny_UseIndexesNotScans()
    {
        fixture.RequirePostgres();
        var connectionString = new NpgsqlConnectionStringBuilder(fixture.Database.ConnectionString) { Options = "-c enable_seqscan=on" }.ApplyPigeonSettings();
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using (var analyse = dataSource.CreateCommand("ANALYZE pigeon.envelopes; ANALYZE pigeon.acknowledged_envelopes"))
        {
            await analyse.ExecuteNonQueryAsync(Ct);
        }

        var now = DateTimeOffset.UtcNow;
        var ackPlan = await ExplainAsync(dataSource, EnvelopeStore.AcknowledgeBatchSql,
            new NpgsqlParameter<string[]>("ack_mailbox_ids", ["plan-a", "plan-b"]),
            new NpgsqlParameter<Guid[]>("ack_message_ids", [Guid.NewGuid(), Guid.NewGuid()]),
            new NpgsqlParameter<DateTimeOffset>("now", now));
        var insertPlan = await ExplainAsync(dataSource, EnvelopeStore.InsertBatchSql,
            new NpgsqlParameter<string[]>("mailbox_ids", ["plan-a"]),
            new NpgsqlParameter<Guid[]>("message_ids", [Guid.NewGuid()]),
            new NpgsqlParameter<byte[][]>("payloads", [[1, 2, 3]]),
            new NpgsqlParameter<DateTimeOffset>("now", now),
            new NpgsqlParameter<DateTimeOffset[]>("expires_ats", [now.AddDays(1)]));

        // Every read of a queue table must look rows up by key (or by the ctid such a lookup found): a
        // scan of a whole index is as slow as a sequential scan once the index is full of dead entries.
        Assert.Empty(ScansWithoutIndexCondition(ackPlan));
        Assert.Empty(ScansWithoutIndexCondition(insertPlan));
        Assert.Contains(ScannedTables(insertPlan), table => table == "acknowledged_envelopes");
        Assert.Contains(ScannedTables(insertPlan), table => table == "envelopes");
    }

    private static readonly string[] QueueTables = ["envelopes", "acknowledged_envelopes"];

    private static IEnumerable<JsonElement> Nodes(JsonElement node)
    {
        yield return node;
        if (node.TryGetProperty("Plans", out var children))
        {
            foreach (var child in children.EnumerateArray().SelectMany(Nodes))
            {
                yield return child;
            }
        }
    }

    private static IEnumerable<JsonElement> Scans(string plan) =>
        Nodes(JsonDocument.Parse(plan).RootElement[0].GetProperty("Plan"))
            .Where(n => n.GetProperty("Node Type").GetString()!.Contains("Scan", StringComparison.Ordinal)
                && n.TryGetProperty("Relation Name", out var relation) && QueueTables.Contains(relation.GetString()));

    private static List<string> ScannedTables(string plan) =>
        [.. Scans(plan).Select(n => n.GetProperty("Relation Name").GetString()!)];

    private static List<string> ScansWithoutIndexCondition(string plan) =>
        [.. Scans(plan).Where(n => !n.TryGetProperty("Index Cond", out _) && !n.TryGetProperty("TID Cond", out _))
            .Select(n => $"{n.GetProperty("Node Type").GetString()} on {n.GetProperty("Relation Name").GetString()}")];

    private static async Task<string> ExplainAsync(NpgsqlDataSource dataSource, string sql, params NpgsqlParameter[] parameters)
    {
        // A transaction rolled back afterwards: EXPLAIN plans only, but stay safe whatever it does.
        await using var connection = await dataSource.OpenConnectionAsync(Ct);
        await using var transaction = await connection.BeginTransactionAsync(Ct);
        await using var command = new NpgsqlCommand($"EXPLAIN (FORMAT JSON) {sql}", connection, transaction);
        command.Parameters.AddRange(parameters);
        var lines = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync(Ct))
        {
            while (await reader.ReadAsync(Ct))
            {
                lines.Add(reader.GetString(0));
            }
        }

        await transaction.RollbackAsync(Ct);
        return string.Join('\n', lines);
    }
}
