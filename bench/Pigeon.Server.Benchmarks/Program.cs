using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Pigeon.Grains.Abstractions.Mailboxes;
using Pigeon.Grains.Hosting;
using Pigeon.Grains.Mailboxes;
using Pigeon.Server.Benchmarks;
using Pigeon.Silo.Database;

// Usage: Pigeon.Server.Benchmarks <connection-string> [seconds=10] [callers=256] [mailboxes=50] [payload=256]
// Runs an in-process silo on the given (empty or Pigeon-migrated) database and reports deposits per
// second through the mailbox grains; then, below the grains, the silo's group-commit writer against one
// transaction per deposit; and deposit latency at queue depth 10 and 100,000.
if (args.Length < 1)
{
    Console.Error.WriteLine("usage: Pigeon.Server.Benchmarks <connection-string> [seconds] [callers] [mailboxes] [payload-bytes]");
    return 2;
}

var connectionString = args[0];
var seconds = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 10;
var callers = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 256;
var mailboxCount = args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 50;
var payloadSize = args.Length > 4 ? int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture) : 256;

await using (var migrationSource = NpgsqlDataSource.Create(connectionString))
{
    await new SchemaMigrator(migrationSource, NullLogger<SchemaMigrator>.Instance).MigrateAsync(CancellationToken.None);
}

{
    await using var silo = await BenchSilo.StartAsync(connectionString);
    var payload = RandomNumberGenerator.GetBytes(payloadSize);
    var duration = TimeSpan.FromSeconds(seconds);
    var rate = await ThroughputAsync(mailbox => silo.Grains.GetGrain<IMailboxGrain>(mailbox).DepositAsync(Guid.NewGuid(), payload), mailboxCount, callers, duration);
    Console.WriteLine($"throughput grains       mailboxes={mailboxCount} callers={callers} payload={payloadSize}B: {rate,9:N0} deposits/s");

    // The same load straight into the writers, so that only the commit strategy differs.
    var writer = silo.Service<EnvelopeWriter>();
    var lifetime = TimeSpan.FromDays(30);
    var grouped = await ThroughputAsync(mailbox => writer.WriteAsync(new EnvelopeToStore(mailbox, Guid.NewGuid(), payload, lifetime)), mailboxCount, callers, duration);
    Console.WriteLine($"throughput group-commit mailboxes={mailboxCount} callers={callers} payload={payloadSize}B: {grouped,9:N0} deposits/s");
    var alone = new OneCommitPerDeposit(silo.Service<EnvelopeStore>());
    var single = await ThroughputAsync(mailbox => alone.WriteAsync(new EnvelopeToStore(mailbox, Guid.NewGuid(), payload, lifetime)), mailboxCount, callers, duration);
    Console.WriteLine($"throughput one-per-tx   mailboxes={mailboxCount} callers={callers} payload={payloadSize}B: {single,9:N0} deposits/s");

    // Depth 10 is measured again after the deep mailbox so that warm-up does not favour either.
    foreach (var depth in new[] { 10, 100_000, 10 })
    {
        var mailboxId = $"depth-{depth}-{Guid.NewGuid():N}";
        await PrefillAsync(connectionString, mailboxId, depth, payloadSize);
        var latencies = await SequentialDepositLatencyAsync(silo.Grains, mailboxId, 2_000, payloadSize);
        Console.WriteLine($"latency depth={depth,7:N0}: p50 {Percentile(latencies, 50):F3} ms, p99 {Percentile(latencies, 99):F3} ms, mean {latencies.Average():F3} ms");
    }
}

return 0;

// Callers deposit into the mailboxes round-robin, back to back, for the duration; one deposit into
// each mailbox first, so that activation (for grains) is not measured.
static async Task<double> ThroughputAsync(Func<string, Task> deposit, int mailboxCount, int callers, TimeSpan duration)
{
    var mailboxes = Enumerable.Range(0, mailboxCount).Select(_ => $"bench-{Guid.NewGuid():N}").ToArray();
    await Task.WhenAll(mailboxes.Select(deposit));
    long completed = 0;
    using var stop = new CancellationTokenSource(duration);
    var stopwatch = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, callers).Select(async caller =>
    {
        var mailbox = mailboxes[caller % mailboxes.Length];
        while (!stop.IsCancellationRequested)
        {
            await deposit(mailbox);
            Interlocked.Increment(ref completed);
        }
    }));
    return completed / stopwatch.Elapsed.TotalSeconds;
}

static async Task<List<double>> SequentialDepositLatencyAsync(IGrainFactory grains, string mailboxId, int count, int payloadSize)
{
    var mailbox = grains.GetGrain<IMailboxGrain>(mailboxId);
    var payload = RandomNumberGenerator.GetBytes(payloadSize);
    for (var i = 0; i < 200; i++)
    {
        await mailbox.DepositAsync(Guid.NewGuid(), payload);
    }

    var latencies = new List<double>(count);
    for (var i = 0; i < count; i++)
    {
        var started = Stopwatch.GetTimestamp();
        await mailbox.DepositAsync(Guid.NewGuid(), payload);
        latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    return latencies;
}

static async Task PrefillAsync(string connectionString, string mailboxId, int depth, int payloadSize)
{
    await using var dataSource = NpgsqlDataSource.Create(connectionString);
    await using var command = dataSource.CreateCommand("""
        INSERT INTO pigeon.envelopes (mailbox_id, message_id, payload, size_bytes, deposited_at, expires_at)
        SELECT @mailbox, gen_random_uuid(), decode(repeat('ab', @size), 'hex'), @size, now(), now() + interval '30 days'
        FROM generate_series(1, @depth)
        """);
    command.Parameters.Add(new NpgsqlParameter<string>("mailbox", mailboxId));
    command.Parameters.Add(new NpgsqlParameter<int>("size", payloadSize));
    command.Parameters.Add(new NpgsqlParameter<int>("depth", depth));
    command.CommandTimeout = 600;
    await command.ExecuteNonQueryAsync();
    await using var analyze = dataSource.CreateCommand("VACUUM ANALYZE pigeon.envelopes");
    await analyze.ExecuteNonQueryAsync();
}

static double Percentile(List<double> values, double percentile)
{
    var sorted = values.Order().ToArray();
    var rank = (int)Math.Ceiling(percentile / 100 * sorted.Length) - 1;
    return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
}

/// <summary>An in-process silo with Pigeon's grains on the benchmark database.</summary>
internal sealed class BenchSilo(IHost host) : IAsyncDisposable
{
    public IGrainFactory Grains => host.Services.GetRequiredService<IGrainFactory>();

    public T Service<T>() where T : notnull => host.Services.GetRequiredService<T>();

    public static async Task<BenchSilo> StartAsync(string connectionString)
    {
        var host = new HostBuilder()
            .ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Warning).AddConsole())
            .UseOrleans(silo =>
            {
                silo.UseLocalhostClustering(siloPort: 21111, gatewayPort: 40000, serviceId: "bench", clusterId: $"bench-{Guid.NewGuid():N}");
                silo.AddPigeonGrains(PigeonDatabaseSettings.CreateDataSource(connectionString, "pigeon-bench"));
                silo.Services.Configure<MailboxOptions>(options => options.MaxEnvelopes = int.MaxValue);
            })
            .Build();
        await host.StartAsync();
        return new BenchSilo(host);
    }

    public async ValueTask DisposeAsync()
    {
        await host.StopAsync();
        host.Dispose();
    }
}
