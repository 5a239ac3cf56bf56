namespace Pigeon.Messaging.Profiles;

/// <summary>
/// What a profile tells its contacts beyond its messages. Delivery receipts are always sent (they
/// say only that the device stored a message); read receipts and typing indicators can be turned off,
/// and then none are sent.
/// </summary>
/// <param name="ReadReceipts">Tell a contact when their messages were shown (default on).</param>
/// <param name="TypingIndicators">Tell a contact while a message is being typed to them (default on).</param>
/// <param name="AutoDownloadBytes">
/// Files up to this size are downloaded (still encrypted, into the profile) as their message arrives,
/// so saving them later needs no server; 0 never downloads on its own (default 10 MiB).
/// </param>
public sealed record ProfileSettings(bool ReadReceipts = true, bool TypingIndicators = true, long AutoDownloadBytes = ProfileSettings.DefaultAutoDownloadBytes)
{
    /// <summary>The default of <see cref="AutoDownloadBytes"/>.</summary>
    public const long DefaultAutoDownloadBytes = 10L * 1024 * 1024;

    internal const string ReadReceiptsName = "read_receipts";
    internal const string TypingIndicatorsName = "typing_indicators";
    internal const string AutoDownloadName = "auto_download_bytes";
}
