using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pigeon.Bench.Api;

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(RegisterAccountRequest))]
[JsonSerializable(typeof(ChallengeRequest))]
[JsonSerializable(typeof(ChallengeResponse))]
[JsonSerializable(typeof(TokenRequest))]
[JsonSerializable(typeof(TokenResponse))]
[JsonSerializable(typeof(DepositRequest))]
[JsonSerializable(typeof(DepositResponse))]
[JsonSerializable(typeof(ReceiveResponse))]
[JsonSerializable(typeof(AckRequest))]
[JsonSerializable(typeof(AckResponse))]
internal sealed partial class WireJson : JsonSerializerContext;
