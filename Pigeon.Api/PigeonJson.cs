using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Pigeon.Api;

/// <summary>
/// The API's JSON rules, for both ends: camelCase names, byte arrays as base64, and strict about what
/// it reads: an unknown member, a null where the record has no nullable member, a missing member the
/// record requires, or a member named twice is an error, at either end: v1's records do not grow new
/// members (a change that needs them is a new version). The metadata comes from
/// <see cref="PigeonJsonContext"/> (source-generated), so no reflection is needed.
/// </summary>
public static class PigeonJson
{
    /// <summary>The API's options, read-only; they know the API's records and nothing else.</summary>
    public static JsonSerializerOptions Options => PigeonJsonContext.Default.Options;

    /// <summary>
    /// Applies the API's rules to <paramref name="options"/> (which start from
    /// <see cref="JsonSerializerDefaults.Web"/>, as ASP.NET Core's do) and puts the API's records first
    /// among its resolvers; the gateway does this to its own options.
    /// </summary>
    public static void Apply(JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var rules = PigeonJsonContext.Default.Options;
        options.RespectNullableAnnotations = rules.RespectNullableAnnotations;
        options.RespectRequiredConstructorParameters = rules.RespectRequiredConstructorParameters;
        options.UnmappedMemberHandling = rules.UnmappedMemberHandling;
        options.AllowDuplicateProperties = rules.AllowDuplicateProperties;
        options.TypeInfoResolverChain.Insert(0, PigeonJsonContext.Default);
    }

    /// <summary>The metadata of one of the API's records under <see cref="Options"/>.</summary>
    public static JsonTypeInfo<T> TypeInfo<T>() => (JsonTypeInfo<T>)Options.GetTypeInfo(typeof(T));
}

/// <summary>The source-generated metadata of every record of the API, under the API's rules (<see cref="PigeonJson"/>).</summary>
/// <remarks>
/// Metadata only, without the generated fast-path serializers: those write a null <c>byte[]</c> as
/// <c>""</c> (dotnet/runtime#129833), which reads back as an empty array, not null.
/// </remarks>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web,
    GenerationMode = JsonSourceGenerationMode.Metadata,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    AllowDuplicateProperties = false)]
[JsonSerializable(typeof(RegisterAccountRequest))]
[JsonSerializable(typeof(AccountResponse))]
[JsonSerializable(typeof(ChallengeRequest))]
[JsonSerializable(typeof(ChallengeResponse))]
[JsonSerializable(typeof(TokenRequest))]
[JsonSerializable(typeof(TokenResponse))]
[JsonSerializable(typeof(UploadPrekeysRequest))]
[JsonSerializable(typeof(PrekeyCountsResponse))]
[JsonSerializable(typeof(PrekeyBundleResponse))]
[JsonSerializable(typeof(DeliveryKeyRequest))]
[JsonSerializable(typeof(DeviceListRecord))]
[JsonSerializable(typeof(DeviceMismatch))]
[JsonSerializable(typeof(ProvisioningSlotResponse))]
[JsonSerializable(typeof(ProvisioningMessage))]
[JsonSerializable(typeof(DepositRequest))]
[JsonSerializable(typeof(DepositResponse))]
[JsonSerializable(typeof(SealedDepositRequest))]
[JsonSerializable(typeof(ReceiveResponse))]
[JsonSerializable(typeof(AckRequest))]
[JsonSerializable(typeof(AckResponse))]
[JsonSerializable(typeof(ApiProblem))]
[JsonSerializable(typeof(CreateAttachmentRequest))]
[JsonSerializable(typeof(CreateAttachmentResponse))]
[JsonSerializable(typeof(AttachmentStatusResponse))]
public sealed partial class PigeonJsonContext : JsonSerializerContext;
