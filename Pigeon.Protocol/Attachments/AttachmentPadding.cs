namespace Pigeon.Protocol.Attachments;

/// <summary>
/// The size an attachment is padded to before encryption, so the stored size tells only a bucket:
/// the smallest power of 1.05 (rounded down) not below the size, and at least 541 bytes. This is the
/// rule Signal's clients use (about 5 % overhead at most); the server then sees one of about 14 sizes
/// per doubling.
/// </summary>
public static class AttachmentPadding
{
    /// <summary>The smallest padded size.</summary>
    public const long MinimumSize = 541;

    /// <summary>The padded size for <paramref name="size"/> bytes.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The size is negative.</exception>
    public static long PaddedSize(long size)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        if (size <= MinimumSize)
        {
            return MinimumSize;
        }

        var bucket = (long)Math.Floor(Math.Pow(1.05, Math.Ceiling(Math.Log(size) / Math.Log(1.05))));
        // Floating point can land a hair below the size; the bucket is never smaller than what it holds.
        return Math.Max(bucket, size);
    }
}
