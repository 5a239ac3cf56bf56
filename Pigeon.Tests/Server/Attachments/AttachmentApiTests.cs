using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Pigeon.Api;
using Pigeon.Gateway.Attachments;
using Pigeon.Messaging.Attachments;
using Pigeon.Protocol;
using Pigeon.Tests.Gateway;
using Pigeon.Tests.Grains;
using Pigeon.Tests.Testing;

namespace Pigeon.Tests.Attachments;

/// <summary>
/// Attachments through the real API on real PostgreSQL: uploads in chunks, resumed from what the
/// server lacks, downloads by id and capability only, limits, expiry and the sweep; the client's
/// transfer on top with the real cipher.
/// </summary>
[Collection(PigeonClusterCollection.Name)]
public sealed class AttachmentApiTests(PigeonClusterFixture fixture) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("pigeon-attach-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<ApiMode, int> Sizes => ApiModes.Cross([0, 1, 64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1, 10 * 1024 * 1024]);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [MemberData(nameof(Sizes))]
    public async Task AFile_RoundTripsThroughTheServer_ByteForByte(ApiMode mode, int size)
    {
        using var http = fixture.Api(mode).CreateClient();
        var alice = await ApiClient.RegisterAndLoginAsync(http);
        var original = WriteRandomFile("original.bin", size);

        using var asAlice = ApiClient.As(http, alice);
        var transfer = new AttachmentTransfer(asAlice);
        var upload = await transfer.BeginUploadAsync(original, Path.Combine(_folder, "upload.enc"), "original.bin", "application/octet-stream", null, Ct);
        await transfer.ResumeUploadAsync(upload, null, Ct);
        using var anonymous = new PigeonApiClient(http);
        var saved = Path.Combine(_folder, "saved.bin");
        await DownloadAsync(new AttachmentTransfer(anonymous), upload.Pointer, Path.Combine(_folder, "download.enc"), saved, overwrite: false, null, Ct);

        Assert.Equal(await File.ReadAllBytesAsync(original, Ct), await File.ReadAllBytesAsync(saved, Ct));
        Assert.False(File.Exists(Path.Combine(_folder, "download.enc")));
    }

    [Fact]
    public async Task ADownload_WithoutOrWithAWrongCapability_GetsTheSame404_AsAnIdThatDoesNotExist()
    {
        using var http = fixture.Gateway.CreateClient();
        var (_, pointer) = await UploadAsync(http, 3000);

        var missing = await DownloadStatusAsync(http, pointer.AttachmentId, null);
        var wrong = await DownloadStatusAsync(http, pointer.AttachmentId, RandomNumberGenerator.GetBytes(32));
        var malformed = await DownloadStatusAsync(http, pointer.AttachmentId, [1, 2, 3]);
        var unknown = await DownloadStatusAsync(http, Guid.NewGuid(), pointer.Capability);
        var right = await DownloadStatusAsync(http, pointer.AttachmentId, pointer.Capability);

        Assert.Equal(HttpStatusCode.OK, right.Status);
        // The same answer in every case (but the trace id of each request).
        Assert.All([missing, wrong, malformed], answer => Assert.Equal(WithoutTraceId(unknown), WithoutTraceId(answer)));
        Assert.Equal(HttpStatusCode.NotFound, unknown.Status);
        Assert.Contains(ProblemTypes.NotFound, unknown.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUpload_CannotBeDownloadedBeforeItCompletes_AndCompletingWithChunksMissingIsA409()
    {
        using var http = fixture.Gateway.CreateClient();
        var alice = await ApiClient.RegisterAndLoginAsync(http);
        using var asAlice = ApiClient.As(http, alice);
        var created = await asAlice.CreateAttachmentAsync(ApiLimits.AttachmentChunkBytes + 10, null, Ct);
        await asAlice.UploadAttachmentChunkAsync(created.AttachmentId, 1, new byte[10], Ct);

        var early = await DownloadStatusAsync(http, created.AttachmentId, created.Capability);
        var incomplete = await Assert.ThrowsAsync<PigeonApiException>(() => asAlice.CompleteAttachmentAsync(created.AttachmentId, Ct));
        var status = await asAlice.AttachmentStatusAsync(created.AttachmentId, Ct);

        Assert.Equal(HttpStatusCode.NotFound, early.Status);
        Assert.Equal((HttpStatusCode.Conflict, ProblemTypes.AttachmentConflict), (incomplete.Status, incomplete.Type));
        Assert.Equal([0], status.MissingChunks);
        Assert.False(status.Completed);
    }

    [Fact]
    public async Task AnInterruptedUpload_SendsOnlyTheChunksTheServerLacks_AndAfterADroppedConnectionItGoesOn()
    {
        var host = fixture.Gateway;
        using var plain = host.CreateClient();
        var alice = await ApiClient.RegisterAndLoginAsync(plain);
        var original = WriteRandomFile("big.bin", (3 * ApiLimits.AttachmentChunkBytes) + 5);
        var dropping = new DroppingHandler { FailChunkUploads = [2] };
        using var http = host.CreateDefaultClient(dropping);
        using var asAlice = new PigeonApiClient(http) { Token = alice.Token };
        var transfer = new AttachmentTransfer(asAlice, attempts: 1);
        var upload = await transfer.BeginUploadAsync(original, Path.Combine(_folder, "big.enc"), "big.bin", "application/octet-stream", null, Ct);

        await Assert.ThrowsAsync<HttpRequestException>(() => transfer.ResumeUploadAsync(upload, null, Ct));
        var afterDrop = await asAlice.AttachmentStatusAsync(upload.Pointer.AttachmentId, Ct);
        dropping.ChunkUploads.Clear();
        dropping.FailChunkUploads = [3];
        await new AttachmentTransfer(asAlice, attempts: 3).ResumeUploadAsync(upload, null, Ct);
        var saved = Path.Combine(_folder, "saved.bin");
        await DownloadAsync(new AttachmentTransfer(new PigeonApiClient(plain)), upload.Pointer, Path.Combine(_folder, "d.enc"), saved, false, null, Ct);

        // 3 MiB and 5 bytes, padded and sealed, are four chunks: 0 and 1 arrived before the drop.
        Assert.Equal([2, 3], afterDrop.MissingChunks);
        // Chunk 3 failed once and was sent again; 0 and 1 were never sent twice.
        Assert.Equal([2, 3, 3], dropping.ChunkUploads);
        Assert.Equal(await File.ReadAllBytesAsync(original, Ct), await File.ReadAllBytesAsync(saved, Ct));
    }

    [Fact]
    public async Task ADownloadCutOffMidway_ResumesFromTheBytesItHas()
    {
        var host = fixture.Gateway;
        using var plain = host.CreateClient();
        var original = WriteRandomFile("cut.bin", 2 * ApiLimits.AttachmentChunkBytes);
        var (_, pointer) = await UploadAsync(plain, original);
        var dropping = new DroppingHandler { CutDownloadAfterBytes = ApiLimits.AttachmentChunkBytes + 123 };
        using var http = host.CreateDefaultClient(dropping);
        var partial = Path.Combine(_folder, "cut.enc");
        var saved = Path.Combine(_folder, "cut.saved");

        await Assert.ThrowsAnyAsync<IOException>(() => DownloadAsync(new AttachmentTransfer(new PigeonApiClient(http), attempts: 1), pointer, partial, saved, false, null, Ct));
        var kept = new FileInfo(partial).Length;
        await DownloadAsync(new AttachmentTransfer(new PigeonApiClient(http), attempts: 1), pointer, partial, saved, false, null, Ct);

        Assert.Equal(ApiLimits.AttachmentChunkBytes + 123, kept);
        Assert.Equal($"bytes={kept}-", dropping.LastRange);
        Assert.Equal(await File.ReadAllBytesAsync(original, Ct), await File.ReadAllBytesAsync(saved, Ct));
    }

    [Fact]
    public async Task ADownloadThatStallsMidway_IsCutOffAfterTheIdleTimeout_AndResumesFromTheBytesItHas()
    {
        var host = fixture.Gateway;
        using var plain = host.CreateClient();
        var original = WriteRandomFile("stall.bin", 2 * ApiLimits.AttachmentChunkBytes);
        var (_, pointer) = await UploadAsync(plain, original);
        var dropping = new DroppingHandler { StallDownloadAfterBytes = ApiLimits.AttachmentChunkBytes + 77 };
        using var http = host.CreateDefaultClient(dropping);
        var saved = Path.Combine(_folder, "stall.saved");

        await DownloadAsync(new AttachmentTransfer(new PigeonApiClient(http) { DownloadIdleTimeout = TimeSpan.FromMilliseconds(300) }, attempts: 2), pointer,
            Path.Combine(_folder, "stall.enc"), saved, false, null, Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);

        Assert.Equal($"bytes={ApiLimits.AttachmentChunkBytes + 77}-", dropping.LastRange);
        Assert.Equal(await File.ReadAllBytesAsync(original, Ct), await File.ReadAllBytesAsync(saved, Ct));
    }

    [Fact]
    public async Task ATamperedChunkOnTheServer_FailsTheDigest_AndTheDestinationIsNeverWritten()
    {
        using var http = fixture.Gateway.CreateClient();
        var (_, pointer) = await UploadAsync(http, 200_000);
        await using (var tamper = fixture.DataSource.CreateCommand(
            "UPDATE pigeon.attachment_chunks SET bytes = overlay(bytes placing '\\x00'::bytea from 1000 for 1) WHERE attachment_id = @id"))
        {
            tamper.Parameters.AddWithValue("id", pointer.AttachmentId);
            Assert.Equal(1, await tamper.ExecuteNonQueryAsync(Ct));
        }

        var saved = Path.Combine(_folder, "tampered.bin");
        var failure = await Assert.ThrowsAsync<ProtocolException>(() =>
            DownloadAsync(new AttachmentTransfer(new PigeonApiClient(http)), pointer, Path.Combine(_folder, "t.enc"), saved, false, null, Ct));

        Assert.Equal(ProtocolError.DecryptionFailed, failure.Reason);
        Assert.False(File.Exists(saved));
        Assert.Empty(Directory.GetFiles(_folder, "*.part"));
    }

    [Fact]
    public async Task AChunkOfTheWrongLength_OrIndex_IsRefused_AndStoresNothing()
    {
        using var http = fixture.Gateway.CreateClient();
        var alice = await ApiClient.RegisterAndLoginAsync(http);
        using var asAlice = ApiClient.As(http, alice);
        var created = await asAlice.CreateAttachmentAsync(ApiLimits.AttachmentChunkBytes + 10, null, Ct);

        var tooShort = await Assert.ThrowsAsync<PigeonApiException>(() => asAlice.UploadAttachmentChunkAsync(created.AttachmentId, 0, new byte[10], Ct));
        var tooLong = await Assert.ThrowsAsync<PigeonApiException>(() => asAlice.UploadAttachmentChunkAsync(created.AttachmentId, 1, new byte[11], Ct));
        var outside = await Assert.ThrowsAsync<PigeonApiException>(() => asAlice.UploadAttachmentChunkAsync(created.AttachmentId, 2, new byte[10], Ct));

        Assert.All([tooShort, tooLong, outside], e => Assert.Equal((HttpStatusCode.BadRequest, ProblemTypes.InvalidRequest), (e.Status, e.Type)));
        Assert.Equal(0L, await ChunkRowsAsync(created.AttachmentId));
    }

    [Fact]
    public async Task AnotherAccount_CannotFeedOrInspectSomeonesUpload()
    {
        using var http = fixture.Gateway.CreateClient();
        var alice = await ApiClient.RegisterAndLoginAsync(http);
        var mallory = await ApiClient.RegisterAndLoginAsync(http);
        using var asAlice = ApiClient.As(http, alice);
        using var asMallory = ApiClient.As(http, mallory);
        var created = await asAlice.CreateAttachmentAsync(10, null, Ct);

        var feed = await Assert.ThrowsAsync<PigeonApiException>(() => asMallory.UploadAttachmentChunkAsync(created.AttachmentId, 0, new byte[10], Ct));
        var inspect = await Assert.ThrowsAsync<PigeonApiException>(() => asMallory.AttachmentStatusAsync(created.AttachmentId, Ct));
        var complete = await Assert.ThrowsAsync<PigeonApiException>(() => asMallory.CompleteAttachmentAsync(created.AttachmentId, Ct));
        var unauthenticated = await Assert.ThrowsAsync<PigeonApiException>(() => new PigeonApiClient(http) { Token = "x" }.CreateAttachmentAsync(10, null, Ct));

        Assert.All([feed, inspect, complete], e => Assert.Equal(HttpStatusCode.NotFound, e.Status));
        Assert.Equal(HttpStatusCode.Unauthorized, unauthenticated.Status);
        Assert.Equal(0L, await ChunkRowsAsync(created.AttachmentId));
    }

    [Fact]
    public async Task AFileOverTheLimit_IsA413_AndBytesOverTheDailyQuota_AreA429WithRetryAfter_AndNeitherIsStored()
    {
        await using var host = fixture.StartApi(ApiMode.Gateway, new Dictionary<string, string?>
        {
            [$"{AttachmentsOptions.Section}:MaxFileBytes"] = "1000",
            [$"{AttachmentsOptions.Section}:BytesPerDay"] = "2500",
            [$"{AttachmentsOptions.Section}:SweepInterval"] = "1.00:00:00",
        });
        using var http = host.CreateClient();
        var alice = await ApiClient.RegisterAndLoginAsync(http);
        using var asAlice = ApiClient.As(http, alice);

        var tooLarge = await Assert.ThrowsAsync<PigeonApiException>(() => asAlice.CreateAttachmentAsync(1001, null, Ct));
        await asAlice.CreateAttachmentAsync(1000, null, Ct);
        await asAlice.CreateAttachmentAsync(1000, null, Ct);
        var overQuota = await Assert.ThrowsAsync<PigeonApiException>(() => asAlice.CreateAttachmentAsync(600, null, Ct));
        host.Clock.Advance(TimeSpan.FromHours(24) + TimeSpan.FromSeconds(1));
        alice.Token = await ApiClient.LoginAsync(http, alice);
        using var aliceNextDay = ApiClient.As(http, alice);
        await aliceNextDay.CreateAttachmentAsync(1000, null, Ct);

        Assert.Equal((HttpStatusCode.RequestEntityTooLarge, ProblemTypes.AttachmentTooLarge), (tooLarge.Status, tooLarge.Type));
        Assert.Equal((HttpStatusCode.TooManyRequests, ProblemTypes.AttachmentQuotaExceeded), (overQuota.Status, overQuota.Type));
        Assert.InRange(overQuota.RetryAfter!.Value, TimeSpan.FromHours(23), TimeSpan.FromHours(24));
        // Neither refusal stored a row; the day's two uploads, never completed, were swept when the day passed.
        Assert.Equal(1L, await ScalarAsync("SELECT count(*) FROM pigeon.attachments WHERE uploader = @a", alice.AccountId));
    }

    [Fact]
    public async Task AnAttachment_ExpiresAtItsLifetime_AndTheSweepDeletesItAndLaterAbandonedUploads()
    {
        // The sweeper's own timer waits a day; the test runs its sweeps on the host's clock, and a sweep more changes nothing.
        await using var host = fixture.StartApi(ApiMode.Gateway, new Dictionary<string, string?> { [$"{AttachmentsOptions.Section}:SweepInterval"] = "1.00:00:00" });
        var sweeper = ((GatewayFactory)host).Services.GetRequiredService<AttachmentSweeper>();
        using var http = host.CreateClient();
        var (alice, pointer) = await UploadAsync(http, 5000, TimeSpan.FromHours(2));
        using var asAlice = ApiClient.As(http, alice);
        var abandoned = await asAlice.CreateAttachmentAsync(10, null, Ct);
        var expiresIn = pointer.ExpiresAt - host.Clock.GetUtcNow();
        var beforeExpiry = await DownloadStatusAsync(http, pointer.AttachmentId, pointer.Capability);

        host.Clock.Advance(TimeSpan.FromHours(2) + TimeSpan.FromSeconds(1));
        var expired = await DownloadStatusAsync(http, pointer.AttachmentId, pointer.Capability);
        await sweeper.SweepOnceAsync(Ct);
        var expiredRows = await ScalarAsync("SELECT count(*) FROM pigeon.attachments WHERE attachment_id = @a", pointer.AttachmentId);
        var abandonedAfterTwoHours = await ScalarAsync("SELECT count(*) FROM pigeon.attachments WHERE attachment_id = @a", abandoned.AttachmentId);
        host.Clock.Advance(TimeSpan.FromDays(1));
        await sweeper.SweepOnceAsync(Ct);

        Assert.InRange(expiresIn, TimeSpan.FromHours(2) - TimeSpan.FromSeconds(5), TimeSpan.FromHours(2));
        Assert.Equal(HttpStatusCode.OK, beforeExpiry.Status);
        Assert.Equal(HttpStatusCode.NotFound, expired.Status);
        Assert.Equal((0L, 1L), (expiredRows, abandonedAfterTwoHours));
        Assert.Equal(0L, await ChunkRowsAsync(pointer.AttachmentId));
        Assert.Equal(0L, await ScalarAsync("SELECT count(*) FROM pigeon.attachments WHERE attachment_id = @a", abandoned.AttachmentId));
    }

    [Fact]
    public async Task TheServer_KeepsTheCapabilitysHashOnly_AndCountsDownloads()
    {
        using var http = fixture.Gateway.CreateClient();
        var (_, pointer) = await UploadAsync(http, 100);
        await DownloadStatusAsync(http, pointer.AttachmentId, pointer.Capability);
        await DownloadStatusAsync(http, pointer.AttachmentId, pointer.Capability);

        await using var command = fixture.DataSource.CreateCommand(
            "SELECT capability_hash, downloads, size_bytes, (SELECT string_agg(encode(bytes, 'hex'), '') FROM pigeon.attachment_chunks c WHERE c.attachment_id = a.attachment_id) " +
            "FROM pigeon.attachments a WHERE attachment_id = @id");
        command.Parameters.AddWithValue("id", pointer.AttachmentId);
        await using var reader = await command.ExecuteReaderAsync(Ct);
        Assert.True(await reader.ReadAsync(Ct));
        Assert.Equal(SHA256.HashData(pointer.Capability), reader.GetFieldValue<byte[]>(0));
        Assert.Equal(2, reader.GetInt32(1));
        Assert.Equal(pointer.CiphertextSize, reader.GetInt64(2));
        var stored = reader.GetString(3);
        Assert.DoesNotContain(Convert.ToHexString(pointer.Capability), stored, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(Convert.ToHexString(pointer.Key), stored, StringComparison.OrdinalIgnoreCase);
    }

    private async Task<(TestUser Uploader, AttachmentPointer Pointer)> UploadAsync(HttpClient http, int size, TimeSpan? lifetime = null) =>
        await UploadAsync(http, WriteRandomFile($"f{Guid.NewGuid():N}.bin", size), lifetime);

    private async Task<(TestUser Uploader, AttachmentPointer Pointer)> UploadAsync(HttpClient http, string path, TimeSpan? lifetime = null)
    {
        var alice = await ApiClient.RegisterAndLoginAsync(http);
        var transfer = new AttachmentTransfer(ApiClient.As(http, alice));
        var upload = await transfer.BeginUploadAsync(path, path + ".enc", Path.GetFileName(path), "application/octet-stream", lifetime, Ct);
        await transfer.ResumeUploadAsync(upload, null, Ct);
        return (alice, upload.Pointer);
    }

    // Fetches the ciphertext into partialPath, opens it to destinationPath and deletes the ciphertext, as AttachmentBook.SaveAsync does.
    private static async Task DownloadAsync(AttachmentTransfer transfer, AttachmentPointer pointer, string partialPath, string destinationPath, bool overwrite,
        IProgress<TransferProgress>? progress, CancellationToken ct)
    {
        await transfer.FetchAsync(pointer, partialPath, progress, ct);
        await AttachmentTransfer.OpenAsync(pointer, partialPath, destinationPath, overwrite, ct);
        File.Delete(partialPath);
    }

    private static async Task<(HttpStatusCode Status, string Body)> DownloadStatusAsync(HttpClient http, Guid id, byte[]? capability)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/attachments/{id}");
        if (capability is not null)
        {
            request.Headers.Add(ApiLimits.AttachmentCapabilityHeader, Convert.ToBase64String(capability));
        }

        using var response = await http.SendAsync(request, Ct);
        var body = response.StatusCode == HttpStatusCode.OK ? "" : await response.Content.ReadAsStringAsync(Ct);
        return (response.StatusCode, body);
    }

    private static (HttpStatusCode, string) WithoutTraceId((HttpStatusCode Status, string Body) answer) =>
        (answer.Status, System.Text.RegularExpressions.Regex.Replace(answer.Body, "\"traceId\":\"[^\"]*\"", ""));

    private string WriteRandomFile(string name, int size)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllBytes(path, RandomNumberGenerator.GetBytes(size));
        return path;
    }

    private Task<long> ChunkRowsAsync(Guid id) => ScalarAsync("SELECT count(*) FROM pigeon.attachment_chunks WHERE attachment_id = @a", id);

    private async Task<long> ScalarAsync(string sql, object value)
    {
        await using var command = fixture.DataSource.CreateCommand(sql);
        command.Parameters.AddWithValue("a", value);
        return (long)(await command.ExecuteScalarAsync(Ct))!;
    }
}
