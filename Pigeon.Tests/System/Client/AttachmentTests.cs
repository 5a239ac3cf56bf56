using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Pigeon.Silo.Database;
using Pigeon.Tests.Deployment;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Client;

/// <summary>
/// Files end to end over real processes: the <c>pigeon</c> executable killed part-way through a
/// 100 MiB upload and through its download, each resumed by the next command; a file whose message was
/// acknowledged fetched after a silo SIGKILL and a PostgreSQL restart; and a file whose bytes, name
/// and caption hold a marker that appears nowhere on the wire, in PostgreSQL or in the server's logs.
/// </summary>
public sealed class AttachmentTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("pigeon-files-").FullName;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task AHundredMebibyteFile_SurvivesAKilledUploadAndAKilledDownload_AndArrivesOnceAndIntact()
    {
        await using var database = await TestDatabase.CreateAsync(ct: Cancellation);
        await using var cluster = new ProcessCluster(database.ConnectionString);
        await cluster.StartSiloAsync(Cancellation);
        var gateway = await cluster.StartGatewayAsync(Cancellation);
        using var cli = new CliHarness();
        await EndToEndTests.InitContactsAsync(cli, gateway);
        await cli.OkAsync("bob", "settings", "--auto-download", "0");
        var original = Path.Combine(_folder, "big.bin");
        await WriteRandomAsync(original, 100 * 1024 * 1024);

        // Alice's pigeon dies (SIGKILL) with part of the file on the server; her next sync sends the rest, then the message.
        await KillWhenAsync(cli, ["--profile", "alice", "send", "Bob", "--file", original, "the big one"],
            async () => await CountAsync(database, "SELECT count(*) FROM pigeon.attachment_chunks") >= 20);
        var chunksAtKill = await CountAsync(database, "SELECT count(*) FROM pigeon.attachment_chunks");
        var chunkCount = await CountAsync(database, "SELECT sum(chunk_count) FROM pigeon.attachments");
        var resumed = await cli.RunAsync("alice", "sync", "--wait", "0");
        var bobs = await cli.OkAsync("bob", "sync", "--wait", "0");
        var listed = JsonDocument.Parse(await cli.OkAsync("bob", "--json", "attachments")).RootElement.GetProperty("attachments");
        var id = listed[0].GetProperty("id").GetGuid().ToString("N")[..8];

        // Bob's pigeon dies part-way through the download; his next save goes on from the bytes it has.
        var transfers = Path.Combine(cli.ProfileDirectory("bob"), "transfers");
        var saved = Path.Combine(_folder, "saved.bin");
        await KillWhenAsync(cli, ["--profile", "bob", "save", id, saved],
            () => Task.FromResult(Directory.Exists(transfers) && Directory.GetFiles(transfers).Sum(f => new FileInfo(f).Length) >= 20 * 1024 * 1024));
        var partial = Directory.GetFiles(transfers).Sum(f => new FileInfo(f).Length);
        cli.HttpBodies.Clear();
        var save = await cli.RunAsync("bob", "save", id, saved);

        Assert.InRange(chunksAtKill, 20, chunkCount - 1);
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        // Without a terminal the progress is plain lines on stderr, every tenth.
        Assert.Matches(@"Resuming big\.bin: [0-9.]+ MiB of 1[01][0-9]\.[0-9] MiB \(100%, [0-9.]+ [KMG]?i?B/s\)", resumed.Error);
        Assert.Single(listed.EnumerateArray());
        Assert.Equal(100L * 1024 * 1024, listed[0].GetProperty("size").GetInt64());
        Assert.Equal(1, CountOf(bobs, "[file big.bin, 100.0 MiB: 'pigeon save "));
        Assert.Contains("the big one", bobs, StringComparison.Ordinal);
        Assert.Equal(1L, await CountAsync(database, "SELECT count(*) FROM pigeon.attachments WHERE completed_at IS NOT NULL"));
        Assert.InRange(partial, 20L * 1024 * 1024, 110L * 1024 * 1024 - 1);
        Assert.True(save.ExitCode == 0, save.ToString());
        Assert.Contains(cli.HttpBodies, b => b.Contains($"Range: bytes={partial}-", StringComparison.Ordinal));
        Assert.Equal(await HashAsync(original), await HashAsync(saved));
        Assert.Empty(Directory.GetFiles(transfers));
        Assert.Empty(Directory.GetFiles(Path.Combine(cli.ProfileDirectory("alice"), "transfers")));
    }

    [Fact]
    public async Task AFile_IsFetchedAfterASiloKillAndAPostgresRestart_AndItsBytesNameAndCaptionAreNeverOnTheWireInPostgresOrInTheLogs()
    {
        await using var postgres = await PrivatePostgres.StartAsync(Cancellation);
        await using var dataSource = NpgsqlDataSource.Create(postgres.ConnectionString);
        await new SchemaMigrator(dataSource, NullLogger<SchemaMigrator>.Instance).MigrateAsync(Cancellation);
        await using var cluster = new ProcessCluster(postgres.ConnectionString);
        var silo = await cluster.StartSiloAsync(Cancellation);
        var gateway = await cluster.StartGatewayAsync(Cancellation);
        await using var wire = new WireRecorder(gateway.BaseAddress);
        using var cli = new CliHarness();
        await EndToEndTests.InitContactsAsync(cli, new GatewayHandle(gateway.Process, wire.Address));
        await cli.OkAsync("bob", "settings", "--auto-download", "0");
        var marker = $"narwhal{Guid.NewGuid():N}";
        var original = Path.Combine(_folder, $"minutes-{marker}.txt");
        await File.WriteAllTextAsync(original, string.Concat(Enumerable.Repeat($"secret {marker}\n", 60_000)), Cancellation);

        await cli.OkAsync("alice", "send", "Bob", "--file", original, $"caption {marker}");
        var bobs = await cli.OkAsync("bob", "sync", "--wait", "0");
        var id = JsonDocument.Parse(await cli.OkAsync("bob", "--json", "attachments")).RootElement.GetProperty("attachments")[0].GetProperty("id").GetGuid();
        // Alice takes Bob's delivery receipt: nothing of the conversation waits in a mailbox any more.
        await cli.OkAsync("alice", "sync", "--wait", "0");
        var waiting = await CountAsync(dataSource, "SELECT count(*) FROM pigeon.envelopes");

        // The message was acknowledged; the file stays on the server across a silo SIGKILL and a PostgreSQL restart.
        await silo.Process.KillAsync();
        await cluster.StartSiloAsync(Cancellation);
        await postgres.StopAsync(Cancellation);
        await postgres.StartAgainAsync(Cancellation);
        // The test's own pooled connections died with the old server.
        dataSource.Clear();
        var saved = Path.Combine(_folder, "saved.txt");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        CliRun save;
        while ((save = await cli.RunAsync("bob", "save", id.ToString("N")[..8], saved)).ExitCode != 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(500, Cancellation);
        }

        Assert.Contains($"[file minutes-{marker}.txt, ", bobs, StringComparison.Ordinal);
        Assert.True(save.ExitCode == 0, save.ToString());
        Assert.Equal(await File.ReadAllBytesAsync(original, Cancellation), await File.ReadAllBytesAsync(saved, Cancellation));
        Assert.Equal(0L, waiting);
        Assert.True(wire.Recorded > new FileInfo(original).Length, "the file did not go through the recorder");
        // The recorder finds what is on the wire: the upload's id is in its URLs.
        Assert.True(wire.Contains(Encoding.UTF8.GetBytes(id.ToString("D"))));
        var everything = await EndToEndTests.DumpAsync(dataSource);
        Assert.Contains(id.ToString(), everything, StringComparison.Ordinal);
        foreach (var needle in new[] { marker, Convert.ToHexStringLower(Encoding.UTF8.GetBytes(marker)), "minutes-" })
        {
            Assert.False(wire.Contains(Encoding.UTF8.GetBytes(needle)), $"'{needle}' went over the wire");
            Assert.DoesNotContain(needle, everything, StringComparison.Ordinal);
            Assert.DoesNotContain(needle, silo.Process.Output, StringComparison.Ordinal);
            Assert.DoesNotContain(needle, gateway.Process.Output, StringComparison.Ordinal);
        }
    }

    // Runs the pigeon executable on the harness's home and kills it (SIGKILL) once the condition
    // holds; fails when it finished first.
    private static async Task KillWhenAsync(CliHarness cli, string[] arguments, Func<Task<bool>> condition)
    {
        await using var pigeon = AppProcess.Start("pigeon", BuiltApps.AssemblyOf("Pigeon.Client", "pigeon"),
            new Dictionary<string, string> { ["PIGEON_HOME"] = cli.Home }, arguments);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (!await condition())
        {
            Assert.False(pigeon.HasExited, $"pigeon {string.Join(' ', arguments)} ended before it could be killed:\n{pigeon.Output}");
            Assert.True(DateTime.UtcNow < deadline, "The transfer did not get far enough within 120 s.");
            await Task.Delay(20, Cancellation);
        }

        await pigeon.KillAsync();
    }

    private static async Task WriteRandomAsync(string path, int size)
    {
        await using var file = File.Create(path);
        var block = new byte[1024 * 1024];
        for (var written = 0; written < size; written += block.Length)
        {
            RandomNumberGenerator.Fill(block);
            await file.WriteAsync(block.AsMemory(0, Math.Min(block.Length, size - written)), Cancellation);
        }
    }

    private static async Task<string> HashAsync(string path)
    {
        await using var file = File.OpenRead(path);
        return Convert.ToHexString(await SHA256.HashDataAsync(file, Cancellation));
    }

    private static int CountOf(string text, string part)
    {
        var count = 0;
        for (var at = text.IndexOf(part, StringComparison.Ordinal); at >= 0; at = text.IndexOf(part, at + part.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    private static Task<long> CountAsync(TestDatabase database, string sql) => CountAsync(database.DataSource, sql);

    private static async Task<long> CountAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        return (long)(await command.ExecuteScalarAsync(Cancellation))!;
    }
}
