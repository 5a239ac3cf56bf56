namespace Pigeon.Messaging.Profiles;

/// <summary>
/// What a profile tells its contacts beyond its messages. Delivery receipts are always sent (they
/// say only that the device stored a message); read receipts and typing indicators can be turned off,
/// and then none are sent.
/// </summary>
/// <param name="ReadReceipts">Tell a contact when their messages were shown (default on).</param>
/// <param name="TypingIndicators">Tell a contact while a message is being typed to them (default on).</param>
public sealed record ProfileSettings(bool ReadReceipts = true, bool TypingIndicators = true)
{
    internal const string ReadReceiptsName = "read_receipts";
    internal const string TypingIndicatorsName = "typing_indicators";
}
