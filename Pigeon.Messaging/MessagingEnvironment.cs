using Pigeon.Api;
using Pigeon.Protocol.Storage;

namespace Pigeon.Messaging;

/// <summary>
/// What the client core needs from its host: the clock, the way to a server, and the cost of a new
/// profile's passphrase key. The CLI builds one from its context; tests build one over an in-memory
/// API.
/// </summary>
public sealed class MessagingEnvironment
{
    /// <summary>
    /// A client of the API at a server that signs in with the given credentials (none for a call that
    /// needs no token). Its handlers decide about retries and timeouts; the caller disposes it.
    /// </summary>
    public required Func<Uri, ApiCredentials?, PigeonApiClient> ConnectApi { get; init; }

    /// <summary>The clock.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Argon2id cost for a new encrypted profile (existing profiles keep theirs).</summary>
    public PassphraseKeyParameters KdfParameters { get; init; } = PassphraseKeyParameters.Default;

    /// <summary>
    /// The most pending contact requests a profile keeps (default 100); a new one beyond it pushes out
    /// the oldest with its session, so strangers cannot grow the store without bound.
    /// </summary>
    public int MaxPendingRequests { get; init; } = 100;

    /// <summary>The most members a group may have (default 256, the creator included); a change past it is refused.</summary>
    public int MaxGroupMembers { get; init; } = 256;

    /// <summary>The most devices this client puts on its account's list (the server has its own limit, 6 by default).</summary>
    public int MaxDevices { get; init; } = Protocol.Devices.DeviceList.DefaultMaxDevices;

    /// <summary>
    /// The largest file sent (default 100 MiB, the server's default; its padded ciphertext stays under
    /// the server's 110 MiB): a larger one is refused before anything is encrypted or uploaded.
    /// </summary>
    public long MaxAttachmentBytes { get; init; } = 100L * 1024 * 1024;
}
