using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pigeon.Messaging.Store;

// The plaintexts of sealed rows: JSON, with times in Unix milliseconds. Only ever read and written
// sealed (SealedTable, MessageTable).

internal sealed record StoredProfile(string AccountId, string Server, string DisplayName, byte[] PublicIdentity, long CreatedAt, long SignedPrekeyRotatedAt, uint DeviceId);

internal sealed record StoredContact(
    string AccountId, string DisplayName, byte[] PublicIdentity, ContactState State, bool Verified, long CreatedAt, long? LastMessageAt, long? TimerSeconds);

internal sealed record StoredRequest(string AccountId, string DisplayName, byte[] PublicIdentity, string? Message, long ReceivedAt);

internal sealed record StoredMessage(
    string ContactId, MessageDirection Direction, MessageKind Kind, MessageStatus Status, Guid MessageId, string? Body, long? SentAt, long At, long? ExpiresAt,
    long? DeliveredAt = null, long? ReadAt = null, string? Author = null, Guid? AttachmentId = null);

/// <summary>A group's known versions (the current one among them), as <see cref="GroupTable"/> keeps them.</summary>
internal sealed record StoredGroup(Groups.GroupWire[] Versions);

internal sealed record StoredAttachment(
    Attachments.AttachmentPointer Pointer, Guid MessageId, string Conversation, MessageDirection Direction, string? Author, string? AuthorName,
    AttachmentState State, long At, string? SavedTo, string? Error);

internal sealed record StoredUpload(Attachments.AttachmentPointer Pointer, string Conversation, string CiphertextFile, string? Caption, long At);

internal sealed record StoredOutbox(Guid MessageId, string Recipient, byte[] Payload, long Order, long? ExpiresAt, uint DeviceId, byte[]? Inner);

internal sealed record StoredDevice(uint DeviceId, long AddedAt, byte[] SigningKey);

/// <summary>An account's device list as last accepted (verified, not rolled back), with its signature and the highest device id it ever had.</summary>
internal sealed record StoredDeviceList(ulong Version, StoredDevice[] Devices, byte[] Signature, uint HighestDeviceId);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UseStringEnumConverter = true)]
[JsonSerializable(typeof(StoredProfile))]
[JsonSerializable(typeof(StoredContact))]
[JsonSerializable(typeof(StoredRequest))]
[JsonSerializable(typeof(StoredMessage))]
[JsonSerializable(typeof(StoredOutbox))]
[JsonSerializable(typeof(StoredDeviceList))]
[JsonSerializable(typeof(StoredGroup))]
[JsonSerializable(typeof(StoredAttachment))]
[JsonSerializable(typeof(StoredUpload))]
internal sealed partial class StoreJson : JsonSerializerContext
{
    /// <summary>The JSON of a stored record.</summary>
    public static byte[] Write<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, typeof(T), Default);

    /// <summary>A stored record from its JSON; a plaintext that does not parse means the row is damaged.</summary>
    public static T Read<T>(byte[] json, string table)
    {
        try
        {
            return (T?)JsonSerializer.Deserialize(json, typeof(T), Default) ?? throw new JsonException("null");
        }
        catch (JsonException exception)
        {
            throw new ProfileDamagedException(table, exception);
        }
    }
}
