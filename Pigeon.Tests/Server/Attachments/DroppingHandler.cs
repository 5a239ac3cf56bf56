namespace Pigeon.Tests.Attachments;

/// <summary>Drops chosen chunk uploads (as a lost connection would) and cuts a download's body short, recording what was asked.</summary>
internal sealed class DroppingHandler : DelegatingHandler
{
    public List<int> ChunkUploads { get; } = [];

    public List<int> FailChunkUploads { get; set; } = [];

    public long? CutDownloadAfterBytes { get; set; }

    /// <summary>When set, the next download's body stops sending after this many bytes but stays open (a stalled connection).</summary>
    public long? StallDownloadAfterBytes { get; set; }

    public string? LastRange { get; private set; }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var path = request.RequestUri!.AbsolutePath;
        if (request.Method == HttpMethod.Put && path.Contains("/chunks/", StringComparison.Ordinal))
        {
            var index = int.Parse(path[(path.LastIndexOf('/') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            ChunkUploads.Add(index);
            if (FailChunkUploads.Remove(index))
            {
                throw new HttpRequestException("The connection dropped (test).");
            }
        }

        LastRange = request.Headers.Range?.ToString() ?? LastRange;
        var response = await base.SendAsync(request, cancellationToken);
        var download = request.Method == HttpMethod.Get && response.IsSuccessStatusCode && !path.EndsWith("/status", StringComparison.Ordinal);
        if (download && (CutDownloadAfterBytes ?? StallDownloadAfterBytes) is { } after)
        {
            var stall = CutDownloadAfterBytes is null;
            CutDownloadAfterBytes = StallDownloadAfterBytes = null;
            var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            response.Content = new StreamContent(new CutStream(body, after, stall));
        }

        return response;
    }
}

/// <summary>A body that ends early, as a connection cut off part-way, or (<paramref name="stall"/>) stops sending and waits, as a stalled one.</summary>
internal sealed class CutStream(Stream inner, long cutAfter, bool stall = false) : Stream
{
    private long _read;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _read; set => throw new NotSupportedException(); }

    public override void Flush() => throw new NotSupportedException();
    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_read >= cutAfter)
        {
            if (stall)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            throw new IOException("The connection dropped (test).");
        }

        var read = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, cutAfter - _read)], cancellationToken);
        _read += read;
        return read;
    }
}
