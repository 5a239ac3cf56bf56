using System.Text.Json;
using System.Text.Json.Serialization;
using Pigeon.Protocol;
using Pigeon.Messaging.Attachments;
using Pigeon.Messaging.Devices;
using Pigeon.Messaging.Groups;
using Pigeon.Protocol.Delivery;

namespace Pigeon.Messaging.Delivery;

/// <summary>What an inner message is.</summary>
public enum InnerMessageType
{
    /// <summary>The first message of a session: asks to become a contact.</summary>
    ContactRequest,

    /// <summary>The answer to a request: the invitee accepted and says their name.</summary>
    ContactAccepted,

    /// <summary>A text message between contacts.</summary>
    Text,

    /// <summary>A delivery receipt: the sender's device has stored the messages it names.</summary>
    Delivered,

    /// <summary>A read receipt: the messages it names were shown to the sender.</summary>
    Read,

    /// <summary>A typing indicator: the sender started or stopped typing.</summary>
    Typing,

    /// <summary>The sender's new delivery key (it rotated it after removing or blocking someone); no body, shown nowhere.</summary>
    DeliveryKeyUpdate,

    /// <summary>The sender set the conversation's disappearing-message timer (to <see cref="InnerMessage.Timer"/>; null is off).</summary>
    Timer,

    /// <summary>A version of a group's state (<see cref="InnerMessage.Group"/>), from the member who made it or who forwards it to a new member.</summary>
    GroupUpdate,

    /// <summary>A text to a group (<see cref="InnerMessage.GroupId"/>), sent to each member over its pairwise session.</summary>
    GroupText,

    /// <summary>
    /// A copy, to the sender's own other devices, of a text it sent: to <see cref="InnerMessage.To"/> (a
    /// contact) or to the group <see cref="InnerMessage.GroupId"/>, so every device shows it as sent.
    /// </summary>
    Sent,

    /// <summary>
    /// From one of our own devices to the others: what it did with a contact (<see cref="InnerMessage.Contact"/>),
    /// so every device of the account keeps the same contacts, requests, verified states and timers.
    /// </summary>
    ContactSync,
}

/// <summary>
/// The plaintext inside the Double Ratchet, version 2: a UTF-8 JSON object with short member names,
/// <code>{"v":2,"t":"text","n":"Alice","b":"hello","at":1764043200000,"e":3600}</code>
/// <c>v</c> format version (2; others are refused), <c>t</c> type (<c>request</c>, <c>accepted</c>,
/// <c>text</c>, <c>key</c>, <c>timer</c>, <c>delivered</c>, <c>read</c>, <c>typing</c>), <c>n</c> sender's
/// display name, <c>b</c> body (optional for a request and an acceptance, absent from a key update and a
/// timer), <c>at</c> sent-at in Unix milliseconds (the sender's clock), <c>dk</c> the sender's delivery
/// key (base64 of epoch ‖ key, 36 bytes; with a request, an acceptance and a key update, which carries
/// nothing else), with which the recipient deposits to the sender without identifying itself, <c>e</c>
/// the disappearing-message timer in seconds (1 to 604800; absent or 0 for off): on a <c>timer</c>
/// message the conversation's new setting, on a text the time both sides keep that text; <c>r</c> the
/// ids of the messages a receipt (<c>delivered</c>, <c>read</c>) is about (1 to 100 GUIDs, each 36
/// characters), <c>on</c> for a <c>typing</c> indicator (true started, false stopped). Unknown members
/// <c>g</c> with a <c>gupdate</c>: a group state (<see cref="GroupWire"/>); <c>gk</c> with it: the
/// delivery keys of members the sender holds (account id to base64 of epoch ‖ key), so members who are
/// not each other's contacts can deposit to each other sealed; <c>gi</c> with a <c>gtext</c>: the
/// group's 32-byte id (base64); <c>a</c> with a <c>text</c> or a <c>gtext</c>: a file
/// (<see cref="AttachmentPointer"/>), and then the body is its caption and may be absent. Unknown members
/// are ignored so a later version can add some; <c>sent</c> is a copy to the sender's own other
/// devices of a text it sent, with <c>to</c> (the contact's account id) or <c>gi</c> (the group),
/// <c>b</c>, <c>a</c> and <c>e</c> as the text had them, and <c>r</c> the history id it has on the sending device;
/// <c>contact</c>, also only between one's own devices, carries <c>c</c>, a <see cref="ContactSync"/>; from one's own
/// devices, a <c>key</c> is the account's new delivery key, a <c>read</c> names incoming messages read
/// on the other device, and a <c>gupdate</c> a group change it made. The ratchet pads the whole to hide its length.
/// Pigeon.Protocol's README has it byte for byte.
/// </summary>
/// <param name="Type">What it is.</param>
/// <param name="SenderName">The sender's display name (what they call themselves).</param>
/// <param name="Body">The text, if any.</param>
/// <param name="SentAt">When the sender wrote it, by the sender's clock.</param>
/// <param name="SenderDeliveryKey">The sender's delivery key, if it gives it with this message.</param>
/// <param name="MessageIds">What a receipt is about.</param>
/// <param name="IsTyping">For a typing indicator: started (true) or stopped.</param>
/// <param name="Timer">The disappearing-message timer (see above); null for off.</param>
/// <param name="Group">For a group update: the state.</param>
/// <param name="GroupId">For a group text: the group.</param>
/// <param name="MemberDeliveryKeys">For a group update: delivery keys of members, by account id.</param>
/// <param name="Attachment">For a text or group text: the file it carries.</param>
/// <param name="To">For a copy to one's own devices: the contact it was sent to.</param>
/// <param name="Contact">For a contact sync: what our other device did with the contact.</param>
public sealed record InnerMessage(
    InnerMessageType Type, string SenderName, string? Body, DateTimeOffset SentAt, DeliveryKey? SenderDeliveryKey = null,
    IReadOnlyList<Guid>? MessageIds = null, bool? IsTyping = null, TimeSpan? Timer = null,
    GroupWire? Group = null, byte[]? GroupId = null, IReadOnlyDictionary<string, byte[]>? MemberDeliveryKeys = null,
    AttachmentPointer? Attachment = null, string? To = null, ContactSync? Contact = null)
{
    /// <summary>The most message ids one receipt names.</summary>
    public const int MaxReceiptIds = 100;

    /// <summary>The format version this build writes and reads.</summary>
    public const int Version = 2;

    /// <summary>Longest display name accepted.</summary>
    public const int MaxNameLength = 64;

    /// <summary>UTF-8 JSON bytes, to be encrypted.</summary>
    public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(
        new Wire(Version, TypeName(Type), SenderName, Body, SentAt.ToUnixTimeMilliseconds(), SenderDeliveryKey?.ToBytes(),
            MessageIds is null ? null : [.. MessageIds.Select(id => id.ToString("D"))], IsTyping, (long?)Timer?.TotalSeconds,
            Group, GroupId, MemberDeliveryKeys is null ? null : new Dictionary<string, byte[]>(MemberDeliveryKeys), Attachment, To, Contact), InnerMessageJson.Default.Wire);

    /// <summary>Parses a decrypted plaintext.</summary>
    /// <exception cref="FormatException">Not a version-2 inner message.</exception>
    public static InnerMessage Parse(ReadOnlySpan<byte> plaintext)
    {
        Wire? wire;
        try
        {
            wire = JsonSerializer.Deserialize(plaintext, InnerMessageJson.Default.Wire);
        }
        catch (JsonException exception)
        {
            throw new FormatException("The message is not a Pigeon inner message.", exception);
        }
        if (wire is null || wire.V != Version)
        {
            throw new FormatException($"Unsupported inner message version {wire?.V}.");
        }
        var type = wire.T switch
        {
            "request" => InnerMessageType.ContactRequest,
            "accepted" => InnerMessageType.ContactAccepted,
            "text" => InnerMessageType.Text,
            "delivered" => InnerMessageType.Delivered,
            "read" => InnerMessageType.Read,
            "typing" => InnerMessageType.Typing,
            "key" => InnerMessageType.DeliveryKeyUpdate,
            "timer" => InnerMessageType.Timer,
            "gupdate" => InnerMessageType.GroupUpdate,
            "gtext" => InnerMessageType.GroupText,
            "sent" => InnerMessageType.Sent,
            "contact" => InnerMessageType.ContactSync,
            _ => throw new FormatException($"Unknown inner message type '{wire.T}'."),
        };
        var isText = type is InnerMessageType.Text or InnerMessageType.GroupText or InnerMessageType.Sent;
        if (type == InnerMessageType.Sent && !(wire.To is { } to ? Protocol.Identity.AccountId.IsWellFormed(to) : wire.Gi is { Length: Groups.GroupState.IdSize }))
        {
            throw new FormatException("A copy of a sent message names neither a contact nor a group.");
        }
        if (isText && wire.B is null && wire.A is null)
        {
            throw new FormatException("A text message has no body.");
        }
        if (isText && wire.A?.Problem() is { } attachmentProblem)
        {
            throw new FormatException($"The message carries a malformed attachment: {attachmentProblem}.");
        }
        if (type == InnerMessageType.ContactSync && (wire.C is null ? "it carries no contact" : wire.C.Problem()) is { } contactProblem)
        {
            throw new FormatException($"A contact sync is malformed: {contactProblem}.");
        }
        if (type == InnerMessageType.GroupUpdate && wire.G is null)
        {
            throw new FormatException("A group update carries no state.");
        }
        if (type == InnerMessageType.GroupText && wire.Gi is not { Length: Groups.GroupState.IdSize })
        {
            throw new FormatException("A group text names no group.");
        }
        List<Guid>? messageIds = null;
        if (type is InnerMessageType.Delivered or InnerMessageType.Read || (type == InnerMessageType.Sent && wire.R is not null))
        {
            if (wire.R is not { Length: > 0 and <= MaxReceiptIds } ids)
            {
                throw new FormatException($"A receipt names 1 to {MaxReceiptIds} messages.");
            }
            messageIds = [];
            foreach (var id in ids)
            {
                messageIds.Add(Guid.TryParseExact(id, "D", out var parsed) ? parsed : throw new FormatException("A receipt names a message id that is not a GUID."));
            }
        }
        if (type == InnerMessageType.Typing && wire.On is null)
        {
            throw new FormatException("A typing indicator says neither started nor stopped.");
        }
        if (type == InnerMessageType.DeliveryKeyUpdate && wire.Dk is null)
        {
            throw new FormatException("A delivery key update carries no key.");
        }
        var name = (wire.N ?? "").Trim();
        if (name.Length > MaxNameLength || name.Any(char.IsControl))
        {
            throw new FormatException("The sender name is too long or holds control characters.");
        }
        TimeSpan? timer = wire.E is null or 0 ? null : TimeSpan.FromSeconds(Math.Clamp(wire.E.Value, 0, long.MaxValue / TimeSpan.TicksPerSecond));
        if (!DisappearingTimer.IsValid(timer))
        {
            throw new FormatException("The disappearing-message timer is out of range.");
        }
        DeliveryKey? deliveryKey = null;
        try
        {
            deliveryKey = wire.Dk is null ? null : DeliveryKey.FromBytes(wire.Dk);
        }
        catch (ProtocolException exception)
        {
            throw new FormatException("The delivery key is malformed.", exception);
        }

        return new InnerMessage(type, name, wire.B, DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(wire.At, 0, 253402300799999)), deliveryKey,
            messageIds, type == InnerMessageType.Typing ? wire.On : null, timer,
            type == InnerMessageType.GroupUpdate ? wire.G : null, type is InnerMessageType.GroupText or InnerMessageType.Sent ? wire.Gi : null,
            type == InnerMessageType.GroupUpdate ? wire.Gk : null, isText ? wire.A : null, type == InnerMessageType.Sent ? wire.To : null,
            type == InnerMessageType.ContactSync ? wire.C : null);
    }

    private static string TypeName(InnerMessageType type) => type switch
    {
        InnerMessageType.ContactRequest => "request",
        InnerMessageType.ContactAccepted => "accepted",
        InnerMessageType.Delivered => "delivered",
        InnerMessageType.Read => "read",
        InnerMessageType.Typing => "typing",
        InnerMessageType.DeliveryKeyUpdate => "key",
        InnerMessageType.Timer => "timer",
        InnerMessageType.GroupUpdate => "gupdate",
        InnerMessageType.GroupText => "gtext",
        InnerMessageType.Sent => "sent",
        InnerMessageType.ContactSync => "contact",
        _ => "text",
    };

    internal sealed record Wire(
        [property: JsonPropertyName("v")] int V,
        [property: JsonPropertyName("t")] string? T,
        [property: JsonPropertyName("n")] string? N,
        [property: JsonPropertyName("b")] string? B,
        [property: JsonPropertyName("at")] long At,
        [property: JsonPropertyName("dk")] byte[]? Dk,
        [property: JsonPropertyName("r")] string[]? R = null,
        [property: JsonPropertyName("on")] bool? On = null,
        [property: JsonPropertyName("e")] long? E = null,
        [property: JsonPropertyName("g")] GroupWire? G = null,
        [property: JsonPropertyName("gi")] byte[]? Gi = null,
        [property: JsonPropertyName("gk")] Dictionary<string, byte[]>? Gk = null,
        [property: JsonPropertyName("a")] AttachmentPointer? A = null,
        [property: JsonPropertyName("to")] string? To = null,
        [property: JsonPropertyName("c")] ContactSync? C = null);
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(InnerMessage.Wire))]
internal sealed partial class InnerMessageJson : JsonSerializerContext;
