namespace Pigeon.Client.Api;

// The client's own copies of the gateway's JSON contract (Pigeon.Gateway/Apis): the client does not
// reference the gateway. Property names become camelCase; byte arrays base64. A test serializes
// both sides and compares the shapes.

/// <summary><c>POST /v1/accounts</c> body.</summary>
public sealed record RegisterAccountRequest(string AccountId, byte[] SigningKey, byte[] AgreementKey, byte[] AgreementKeySignature);

/// <summary><c>POST /v1/accounts</c> answer.</summary>
public sealed record AccountResponse(string AccountId, DateTimeOffset RegisteredAt);

/// <summary><c>POST /v1/auth/challenge</c> body.</summary>
public sealed record ChallengeRequest(string AccountId);

/// <summary><c>POST /v1/auth/challenge</c> answer.</summary>
public sealed record ChallengeResponse(byte[] Challenge, DateTimeOffset ExpiresAt);

/// <summary><c>POST /v1/auth/token</c> body.</summary>
public sealed record TokenRequest(string AccountId, byte[] Challenge, byte[] Signature);

/// <summary><c>POST /v1/auth/token</c> answer.</summary>
public sealed record TokenResponse(string Token, DateTimeOffset ExpiresAt);

/// <summary>One public prekey.</summary>
public sealed record PrekeyDto(uint Id, byte[] PublicKey, byte[]? Signature = null);

/// <summary><c>PUT /v1/keys</c> body.</summary>
public sealed record UploadPrekeysRequest(
    PrekeyDto? SignedPrekey = null,
    PrekeyDto? LastResortKemPrekey = null,
    IReadOnlyList<PrekeyDto>? OneTimePrekeys = null,
    IReadOnlyList<PrekeyDto>? OneTimeKemPrekeys = null);

/// <summary><c>PUT /v1/keys</c> and <c>GET /v1/keys/count</c> answer.</summary>
public sealed record PrekeyCountsResponse(
    int OneTimePrekeys, int OneTimeKemPrekeys, bool HasSignedPrekey, bool HasLastResortKemPrekey,
    uint? LowestOneTimePrekeyId = null, uint? LowestOneTimeKemPrekeyId = null);

/// <summary>An identity's public keys in a bundle.</summary>
public sealed record IdentityDto(byte[] SigningKey, byte[] AgreementKey, byte[] AgreementKeySignature);

/// <summary><c>GET /v1/keys/{accountId}</c> answer.</summary>
public sealed record PrekeyBundleResponse(
    string AccountId,
    IdentityDto Identity,
    PrekeyDto SignedPrekey,
    PrekeyDto? OneTimePrekey,
    PrekeyDto KemPrekey,
    bool KemPrekeyIsLastResort);

/// <summary>One envelope to deposit.</summary>
public sealed record OutgoingEnvelope(string Recipient, Guid MessageId, byte[] Payload);

/// <summary><c>POST /v1/messages</c> body.</summary>
public sealed record DepositRequest(IReadOnlyList<OutgoingEnvelope> Envelopes);

/// <summary>A deposit receipt.</summary>
public sealed record DepositReceiptDto(string Recipient, Guid MessageId, long Sequence, DateTimeOffset DepositedAt);

/// <summary><c>POST /v1/messages</c> answer.</summary>
public sealed record DepositResponse(IReadOnlyList<DepositReceiptDto> Receipts);

/// <summary>A received envelope.</summary>
public sealed record IncomingEnvelope(Guid MessageId, long Sequence, byte[] Payload, DateTimeOffset DepositedAt);

/// <summary><c>GET /v1/messages</c> answer; <see cref="Acknowledged"/> counts the ids of its <c>ack</c> that were deleted.</summary>
public sealed record ReceiveResponse(IReadOnlyList<IncomingEnvelope> Envelopes, bool HasMore, int Acknowledged = 0);

/// <summary><c>POST /v1/messages/ack</c> body.</summary>
public sealed record AckRequest(IReadOnlyList<Guid> MessageIds);

/// <summary><c>POST /v1/messages/ack</c> answer.</summary>
public sealed record AckResponse(int Acknowledged);

/// <summary>An RFC 9457 problem as the gateway writes it.</summary>
public sealed record ProblemDto(string? Type, string? Title, string? Detail, int? Status);
