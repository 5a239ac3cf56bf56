namespace Pigeon.Api;

/// <summary>One envelope to deposit.</summary>
/// <param name="Recipient">The recipient's account id.</param>
/// <param name="MessageId">A client-chosen id, unique per message: a retry with the same id stores nothing new.</param>
/// <param name="Payload">The ciphertext (at most <see cref="ApiLimits.MaxEnvelopeBytes"/> bytes).</param>
/// <param name="LifetimeSeconds">How long the server may keep it at most, when shorter than its own limit (a disappearing-message timer); optional.</param>
/// <param name="DeviceId">The recipient's device. A deposit addresses every device on each recipient's list (but the sender's own device), or none of it is stored (409, 410).</param>
public sealed record OutgoingEnvelope(string Recipient, Guid MessageId, byte[] Payload, int? LifetimeSeconds = null, uint DeviceId = 1);

/// <summary><c>POST /v1/messages</c>: envelopes to deposit (at most <see cref="ApiLimits.MaxDepositBatch"/>), each into its recipient's mailbox.</summary>
public sealed record DepositRequest(IReadOnlyList<OutgoingEnvelope> Envelopes);

/// <summary>Proof that an envelope is durably stored in the mailbox of <paramref name="Recipient"/>'s device <paramref name="DeviceId"/>.</summary>
public sealed record DepositReceiptDto(string Recipient, Guid MessageId, long Sequence, DateTimeOffset DepositedAt, uint DeviceId = 1);

/// <summary>The receipts, in request order. A 200 means every envelope is committed.</summary>
public sealed record DepositResponse(IReadOnlyList<DepositReceiptDto> Receipts);

/// <summary>An envelope for the caller.</summary>
public sealed record IncomingEnvelope(Guid MessageId, long Sequence, byte[] Payload, DateTimeOffset DepositedAt);

/// <summary><c>GET /v1/messages</c>: envelopes oldest first; empty when the wait ended with nothing new.</summary>
/// <param name="Envelopes">The envelopes, oldest first.</param>
/// <param name="HasMore">True when more envelopes were pending than <c>max</c> allowed.</param>
/// <param name="Acknowledged">How many of the ids in the request's <c>ack</c> were deleted before receiving (0 without <c>ack</c>).</param>
public sealed record ReceiveResponse(IReadOnlyList<IncomingEnvelope> Envelopes, bool HasMore, int Acknowledged);

/// <summary><c>POST /v1/messages/ack</c>: message ids to acknowledge (delete), at most <see cref="ApiLimits.MaxAckBatch"/>.</summary>
public sealed record AckRequest(IReadOnlyList<Guid> MessageIds);

/// <summary>How many envelopes the acknowledgement deleted.</summary>
public sealed record AckResponse(int Acknowledged);

/// <summary>One sealed envelope: the recipient, the recipient's delivery key, and the ciphertext.</summary>
/// <param name="Recipient">The recipient's account id.</param>
/// <param name="DeliveryKey">The delivery key the recipient gave its contacts inside the encrypted channel.</param>
/// <param name="MessageId">A client-chosen id, unique per message: a retry with the same id stores nothing new.</param>
/// <param name="Payload">The sealed envelope (base64).</param>
/// <param name="LifetimeSeconds">How long the server may keep it at most, when shorter than its own limit (a disappearing-message timer); optional.</param>
/// <param name="DeviceId">The recipient's device. A sealed deposit addresses every device on each recipient's list, or none of it is stored (409, 410).</param>
public sealed record SealedEnvelope(string Recipient, byte[] DeliveryKey, Guid MessageId, byte[] Payload, int? LifetimeSeconds = null, uint DeviceId = 1);

/// <summary><c>POST /v1/messages/sealed</c>: sealed envelopes to deposit without a token (at most <see cref="ApiLimits.MaxDepositBatch"/>), each into its recipient's mailbox.</summary>
public sealed record SealedDepositRequest(IReadOnlyList<SealedEnvelope> Envelopes);
