using System.Text.Json.Serialization;
using Pigeon.Api;
using Pigeon.Protocol.Attachments;

namespace Pigeon.Messaging.Attachments;

/// <summary>
/// What a message carries so its recipient can fetch and open an attachment, inside the encrypted
/// message only (inner message member <c>a</c>): <c>id</c> the server's id of the upload, <c>cap</c>
/// the download capability, <c>k</c> the file's key, <c>d</c> the ciphertext's SHA-256, <c>s</c> the
/// plaintext's size, <c>n</c> the sender's file name, <c>ct</c> its media type, <c>x</c> when the
/// server deletes it (Unix milliseconds). The name and type are the sender's word: see
/// <see cref="AttachmentNames"/> before either becomes a file.
/// </summary>
/// <param name="AttachmentId">The server's id of the upload.</param>
/// <param name="Capability">The secret that authorises the download.</param>
/// <param name="Key">The file's fresh AES-256 key.</param>
/// <param name="Digest">SHA-256 of the ciphertext, checked before a byte is written to the destination.</param>
/// <param name="Size">The plaintext's size.</param>
/// <param name="Name">The sender's name for the file; untrusted.</param>
/// <param name="ContentType">The sender's media type; untrusted.</param>
/// <param name="ExpiresAtMs">When the server deletes it, in Unix milliseconds.</param>
public sealed record AttachmentPointer(
    [property: JsonPropertyName("id")] Guid AttachmentId,
    [property: JsonPropertyName("cap")] byte[] Capability,
    [property: JsonPropertyName("k")] byte[] Key,
    [property: JsonPropertyName("d")] byte[] Digest,
    [property: JsonPropertyName("s")] long Size,
    [property: JsonPropertyName("n")] string Name,
    [property: JsonPropertyName("ct")] string ContentType,
    [property: JsonPropertyName("x")] long ExpiresAtMs)
{
    /// <summary>The largest plaintext a pointer may announce (the server's own limit is lower; this only bounds what a sender can claim).</summary>
    public const long MaxSize = 4L * 1024 * 1024 * 1024;

    /// <summary>The longest media type accepted.</summary>
    public const int MaxContentTypeLength = 127;

    /// <summary>When the server deletes it.</summary>
    [JsonIgnore]
    public DateTimeOffset ExpiresAt => DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(ExpiresAtMs, 0, 253402300799999));

    /// <summary>What the server stores: the padded ciphertext's size.</summary>
    [JsonIgnore]
    public long CiphertextSize => AttachmentCipher.CiphertextSize(Size);

    /// <summary>A pointer made from the upload the server created and the encryption's result.</summary>
    public static AttachmentPointer From(CreateAttachmentResponse created, EncryptedAttachment encrypted, string name, string contentType)
    {
        ArgumentNullException.ThrowIfNull(created);
        ArgumentNullException.ThrowIfNull(encrypted);
        return new AttachmentPointer(created.AttachmentId, created.Capability, encrypted.Key, encrypted.Digest, encrypted.Size, name, contentType,
            created.ExpiresAt.ToUnixTimeMilliseconds());
    }

    /// <summary>Why a received pointer cannot be used, or null when it is well formed (the name is checked only when it becomes a file).</summary>
    public string? Problem() => this switch
    {
        { Capability: null or { Length: 0 or > 64 } } => "the attachment's capability is missing or too long",
        { Key.Length: not AttachmentCipher.KeySize } => "the attachment's key is not 32 bytes",
        { Digest.Length: not AttachmentCipher.DigestSize } => "the attachment's digest is not 32 bytes",
        { Size: < 0 or > MaxSize } => "the attachment's size is out of range",
        { Name: null } or { Name.Length: > 4 * AttachmentNames.MaxLength } => "the attachment's name is missing or too long",
        { ContentType: null } or { ContentType.Length: > MaxContentTypeLength } => "the attachment's type is missing or too long",
        _ => null,
    };
}
