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
            new NpgsqlParameter<DateTimeOffset>("expires_at", now.AddDays(1)));

        Assert.DoesNotContain("Seq Scan on envelopes", ackPlan);
        Assert.DoesNotContain("Seq Scan on envelopes", insertPlan);
        Assert.DoesNotContain("Seq Scan on acknowledged_envelopes", insertPlan);
        Assert.Contains("Index", insertPlan);
    }

    private static async Task<string> ExplainAsync(NpgsqlDataSource dataSource, string sql, params NpgsqlParameter[] parameters)
    {
        // A transaction rolled back afterwards: EXPLAIN plans only, but stay safe whatever it does.
        await using var connection = await dataSource.OpenConnectionAsync(Ct);
        await using var transaction = await connection.BeginTransactionAsync(Ct);
        await using var command = new NpgsqlCommand($"EXPLAIN {sql}", connection, transaction);
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
