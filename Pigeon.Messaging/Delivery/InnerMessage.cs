using System.Text.Json;
using System.Text.Json.Serialization;
using Pigeon.Protocol;
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

    /// <summary>The sender's new delivery key (it rotated it after removing or blocking someone); no body, shown nowhere.</summary>
    DeliveryKeyUpdate,

    /// <summary>The sender set the conversation's disappearing-message timer (to <see cref="InnerMessage.Timer"/>; null is off).</summary>
    Timer,
}

/// <summary>
/// The plaintext inside the Double Ratchet, version 2: a UTF-8 JSON object with short member names,
/// <code>{"v":2,"t":"text","n":"Alice","b":"hello","at":1764043200000,"e":3600}</code>
/// <c>v</c> format version (2; others are refused), <c>t</c> type (<c>request</c>, <c>accepted</c>,
/// <c>text</c>, <c>key</c>, <c>timer</c>), <c>n</c> sender's display name, <c>b</c> body (optional for a
/// request and an acceptance, absent from a key update and a timer), <c>at</c> sent-at in Unix
/// milliseconds (the sender's clock), <c>dk</c> the sender's delivery key (base64 of epoch ‖ key, 36
/// bytes; with a request, an acceptance and a key update, which carries nothing else), with which the
/// recipient deposits to the sender without identifying itself, <c>e</c> the disappearing-message
/// timer in seconds (1 to 604800; absent or 0 for off): on a <c>timer</c> message the conversation's
/// new setting, on a text the time both sides keep that text. Unknown members are ignored so a later
/// version can add some; the ratchet pads the whole to hide its length.
/// </summary>
/// <param name="Type">What it is.</param>
/// <param name="SenderName">The sender's display name (what they call themselves).</param>
/// <param name="Body">The text, if any.</param>
/// <param name="SentAt">When the sender wrote it, by the sender's clock.</param>
/// <param name="SenderDeliveryKey">The sender's delivery key, if it gives it with this message.</param>
/// <param name="Timer">The disappearing-message timer (see above); null for off.</param>
public sealed record InnerMessage(
    InnerMessageType Type, string SenderName, string? Body, DateTimeOffset SentAt, DeliveryKey? SenderDeliveryKey = null, TimeSpan? Timer = null)
{
    /// <summary>The format version this build writes and reads.</summary>
    public const int Version = 2;

    /// <summary>Longest display name accepted.</summary>
    public const int MaxNameLength = 64;

    /// <summary>UTF-8 JSON bytes, to be encrypted.</summary>
    public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(
        new Wire(Version, TypeName(Type), SenderName, Body, SentAt.ToUnixTimeMilliseconds(), SenderDeliveryKey?.ToBytes(), (long?)Timer?.TotalSeconds), InnerMessageJson.Default.Wire);

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
            "key" => InnerMessageType.DeliveryKeyUpdate,
            "timer" => InnerMessageType.Timer,
            _ => throw new FormatException($"Unknown inner message type '{wire.T}'."),
        };
        if (type == InnerMessageType.Text && wire.B is null)
        {
            throw new FormatException("A text message has no body.");
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

        return new InnerMessage(type, name, wire.B, DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(wire.At, 0, 253402300799999)), deliveryKey, timer);
    }

    private static string TypeName(InnerMessageType type) => type switch
    {
        InnerMessageType.ContactRequest => "request",
        InnerMessageType.ContactAccepted => "accepted",
        InnerMessageType.DeliveryKeyUpdate => "key",
        InnerMessageType.Timer => "timer",
        _ => "text",
    };

    internal sealed record Wire(
        [property: JsonPropertyName("v")] int V,
        [property: JsonPropertyName("t")] string? T,
        [property: JsonPropertyName("n")] string? N,
        [property: JsonPropertyName("b")] string? B,
        [property: JsonPropertyName("at")] long At,
        [property: JsonPropertyName("dk")] byte[]? Dk,
        [property: JsonPropertyName("e")] long? E);
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(InnerMessage.Wire))]
internal sealed partial class InnerMessageJson : JsonSerializerContext;
