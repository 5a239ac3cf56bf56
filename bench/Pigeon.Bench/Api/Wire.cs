namespace Pigeon.Bench.Api;

// The gateway's JSON contract, restated here: the bench talks HTTP and must not depend on the gateway.

internal sealed record RegisterAccountRequest(string AccountId, byte[] SigningKey, byte[] AgreementKey, byte[] AgreementKeySignature);

internal sealed record ChallengeRequest(string AccountId);

internal sealed record ChallengeResponse(byte[] Challenge, DateTimeOffset ExpiresAt);

internal sealed record TokenRequest(string AccountId, byte[] Challenge, byte[] Signature);

internal sealed record TokenResponse(string Token, DateTimeOffset ExpiresAt);

internal sealed record OutgoingEnvelope(string Recipient, Guid MessageId, byte[] Payload);

internal sealed record DepositRequest(IReadOnlyList<OutgoingEnvelope> Envelopes);

internal sealed record DepositReceipt(string Recipient, Guid MessageId, long Sequence, DateTimeOffset DepositedAt);

internal sealed record DepositResponse(IReadOnlyList<DepositReceipt> Receipts);

internal sealed record IncomingEnvelope(Guid MessageId, long Sequence, byte[] Payload, DateTimeOffset DepositedAt);

internal sealed record ReceiveResponse(IReadOnlyList<IncomingEnvelope> Envelopes, bool HasMore, int Acknowledged);

internal sealed record AckRequest(IReadOnlyList<Guid> MessageIds);

internal sealed record AckResponse(int Acknowledged);
