using System.Security.Cryptography;
using Pigeon.Grains.Abstractions.Mailboxes;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Processes;

/// <summary>Silos as real processes on a real PostgreSQL: joining, restarting and dying.</summary>
public sealed class SiloProcessTests
{
    private const int Active = 3;
    private const int Dead = 6;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Silo_Started_ShowsActiveInTheMembershipTable()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Cancellation);
        await using var cluster = new ProcessCluster(database.ConnectionString);

        var silo = await cluster.StartSiloAsync(Cancellation);

        Assert.Contains((silo.SiloPort, Active), await cluster.MembershipAsync(Cancellation));
        using var http = new HttpClient();
        Assert.True((await http.GetAsync(new Uri(silo.Health, "/health/live"), Cancellation)).IsSuccessStatusCode);
    }

    [Fact]
    public async Task Silo_AfterDeposits_ReportsItsGroupCommitsAtMetrics()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Cancellation);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        var silo = await cluster.StartSiloAsync(Cancellation);
        var client = await cluster.ConnectClientAsync(Cancellation);
        var mailbox = client.GetGrain<IMailboxGrain>($"mailbox-{Guid.NewGuid():N}");

        await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => mailbox.DepositAsync(Guid.NewGuid(), [1, 2, 3])));

        using var http = new HttpClient();
        var metrics = await http.GetStringAsync(new Uri(silo.Health, "/metrics"), Cancellation);
        Assert.True(PrometheusText.Sum(metrics, "pigeon_mailbox_commit_operations_sum") >= 20, metrics);
        Assert.True(PrometheusText.Sum(metrics, "pigeon_mailbox_commit_duration_seconds_count") >= 1);
        Assert.True(PrometheusText.Sum(metrics, "pigeon_mailbox_commit_queue_wait_seconds_count") >= 20);
    }

    [Fact]
    public async Task Silo_StoppedGracefully_LeavesTheClusterAsDead()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Cancellation);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        var silo = await cluster.StartSiloAsync(Cancellation);

        await silo.Process.StopAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(0, silo.Process.ExitCode);
        Assert.Contains((silo.SiloPort, Dead), await cluster.MembershipAsync(Cancellation));
    }

    [Fact]
    public async Task Deposit_SurvivesASiloRestart()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Cancellation);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        var first = await cluster.StartSiloAsync(Cancellation);
        var client = await cluster.ConnectClientAsync(Cancellation);
        var mailboxId = $"mailbox-{Guid.NewGuid():N}";
        var messageId = Guid.NewGuid();
        var payload = RandomNumberGenerator.GetBytes(200);
        await client.GetGrain<IMailboxGrain>(mailboxId).DepositAsync(messageId, payload);

        await first.Process.StopAsync(TimeSpan.FromSeconds(30));
        await cluster.StartSiloAsync(Cancellation);
        var envelope = await ReceiveOneAsync(await cluster.ConnectClientAsync(Cancellation), mailboxId);

        Assert.Equal(messageId, envelope.MessageId);
        Assert.Equal(payload, envelope.Payload);
    }

    [Fact]
    public async Task Deposit_ThroughAKilledSilo_IsReceivedThroughTheOther()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Cancellation);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        var doomed = await cluster.StartSiloAsync(Cancellation);
        var client = await cluster.ConnectClientAsync(Cancellation);
        var mailboxId = $"mailbox-{Guid.NewGuid():N}";
        var messageId = Guid.NewGuid();
        var payload = RandomNumberGenerator.GetBytes(200);
        // Only the doomed silo exists yet, so the mailbox's activation and the deposit are on it.
        await client.GetGrain<IMailboxGrain>(mailboxId).DepositAsync(messageId, payload);
        var survivor = await cluster.StartSiloAsync(Cancellation);

        await doomed.Process.KillAsync();
        var envelope = await ReceiveOneAsync(client, mailboxId);

        Assert.Equal(messageId, envelope.MessageId);
        Assert.Equal(payload, envelope.Payload);
        var membership = await cluster.MembershipAsync(Cancellation);
        Assert.Contains((survivor.SiloPort, Active), membership);
    }

    [Fact]
    public async Task Silo_UnderConcurrentLoad_StaysWithinItsDatabasePools()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Cancellation);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        await cluster.StartSiloAsync(Cancellation, new Dictionary<string, string>
        {
            ["Pigeon__Silo__DatabasePoolSize"] = "3",
            ["Pigeon__Silo__MembershipDatabasePoolSize"] = "2",
        });
        var client = await cluster.ConnectClientAsync(Cancellation);
        var mailboxes = Enumerable.Range(0, 40).Select(i => client.GetGrain<IMailboxGrain>($"pool-{i}-{Guid.NewGuid():N}")).ToList();
        long peakPigeon = 0, peakMembership = 0;

        var load = Task.WhenAll(mailboxes.Select(async mailbox =>
        {
            for (var i = 0; i < 10; i++)
            {
                await mailbox.DepositAsync(Guid.NewGuid(), [1, 2, 3]);
                await mailbox.ReceiveAsync(0, 100, TimeSpan.Zero, Cancellation);
            }
        }));
        while (!load.IsCompleted)
        {
            await using var command = database.DataSource.CreateCommand("""
                SELECT count(*) FILTER (WHERE application_name = 'pigeon-silo'),
                       count(*) FILTER (WHERE application_name = 'pigeon-silo-membership')
                FROM pg_stat_activity WHERE datname = current_database()
                """);
            await using var reader = await command.ExecuteReaderAsync(Cancellation);
            await reader.ReadAsync(Cancellation);
            (peakPigeon, peakMembership) = (Math.Max(peakPigeon, reader.GetInt64(0)), Math.Max(peakMembership, reader.GetInt64(1)));
            await Task.WhenAny(load, Task.Delay(TimeSpan.FromMilliseconds(20), Cancellation));
        }

        await load;
        Assert.InRange(peakPigeon, 1, 3);
        Assert.InRange(peakMembership, 0, 2);
        foreach (var mailbox in mailboxes)
        {
            Assert.Equal(10, (await mailbox.GetStatusAsync()).Envelopes);
        }
    }

    private static async Task<Envelope> ReceiveOneAsync(IClusterClient client, string mailboxId)
    {
        // Until the cluster declares a killed silo dead, calls to its grains fail or time out: retry.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (true)
        {
            try
            {
                var result = await client.GetGrain<IMailboxGrain>(mailboxId)
                    .ReceiveAsync(0, 10, TimeSpan.Zero)
                    .WaitAsync(TimeSpan.FromSeconds(10), Cancellation);
                return Assert.Single(result.Envelopes);
            }
            catch (Exception exception) when (exception is TimeoutException or Orleans.Runtime.OrleansException or OperationCanceledException
                && DateTime.UtcNow < deadline && !Cancellation.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500), Cancellation);
            }
        }
    }
}
