using Pigeon.Api;
using Pigeon.Messaging.Store;
using Pigeon.Protocol;

namespace Pigeon.Messaging;

/// <summary>
/// A refusal or failure of the client core that a person can act on. Each kind carries what a front
/// end needs to say it its own way (the CLI maps them to exit codes and messages in one place); the
/// <see cref="Exception.Message"/> says it plainly.
/// </summary>
public abstract class MessagingException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>No profile in <see cref="Directory"/>, or one whose database holds no identity yet.</summary>
public sealed class ProfileNotFoundException(string directory, bool fileExists)
    : MessagingException(fileExists ? $"The profile in {directory} is not initialised" : $"No profile in {directory}")
{
    /// <summary>The profile folder.</summary>
    public string Directory { get; } = directory;

    /// <summary>True when a database file exists but holds no profile.</summary>
    public bool FileExists { get; } = fileExists;
}

/// <summary>A profile already exists where a new one was to be created.</summary>
public sealed class ProfileExistsException(string directory) : MessagingException($"A profile already exists in {directory}")
{
    /// <summary>The profile folder.</summary>
    public string Directory { get; } = directory;
}

/// <summary>
/// The profile's file has a schema this client does not read: a newer client's, or an older one's
/// (version 1 kept names, ids and times in the clear and is not migrated).
/// </summary>
public sealed class ProfileFormatException(int version, int known)
    : MessagingException(version > known
        ? $"This profile was written by a newer pigeon (schema {version}; this one knows {known})."
        : $"This profile was written by an older pigeon (schema {version}), whose format is no longer read (this one knows {known}): move the folder away and run 'pigeon init' again.")
{
    /// <summary>The file's schema version.</summary>
    public int Version { get; } = version;
}

/// <summary>Why a profile stays locked.</summary>
public enum LockedReason
{
    /// <summary>The profile is encrypted and no passphrase was given.</summary>
    PassphraseMissing,

    /// <summary>The passphrase does not open the profile.</summary>
    WrongPassphrase,

    /// <summary>The session was locked (<see cref="Profiles.ProfileSession.Lock"/>); open the profile again.</summary>
    SessionLocked,
}

/// <summary>The profile cannot be read: it is encrypted and not unlocked. Nothing was changed.</summary>
public sealed class ProfileLockedException(LockedReason reason, Exception? inner = null) : MessagingException(reason switch
{
    LockedReason.PassphraseMissing => "This profile is encrypted and no passphrase was given.",
    LockedReason.WrongPassphrase => "Wrong passphrase: the profile could not be unlocked. Nothing was changed.",
    _ => "This profile session is locked.",
}, inner)
{
    /// <summary>Why.</summary>
    public LockedReason Reason { get; } = reason;
}

/// <summary>A sealed value of the profile does not open under its key: the file was altered or damaged.</summary>
public sealed class ProfileDamagedException(string what, Exception inner)
    : MessagingException($"A stored value ({what}) could not be opened: the profile is damaged.", inner);

/// <summary>Which list a name was looked up in.</summary>
public enum NameList
{
    /// <summary>The contacts.</summary>
    Contacts,

    /// <summary>The pending requests.</summary>
    Requests,

    /// <summary>The groups (by title or id prefix).</summary>
    Groups,

    /// <summary>Contacts and groups together (a name that is both).</summary>
    Conversations,
}

/// <summary>No contact is called or has the id <see cref="Reference"/>.</summary>
public sealed class ContactNotFoundException(string reference, RequestRow? pendingRequest, bool groupsToo = false)
    : MessagingException(pendingRequest is { } request
        ? $"{request.DisplayName} ({request.AccountId}) has asked to be your contact and is not one yet."
        : groupsToo ? $"No contact or group is called or has the id '{reference}'." : $"No contact is called or has the id '{reference}'.")
{
    /// <summary>Whether groups were looked in too (where a contact or a group is accepted).</summary>
    public bool GroupsToo { get; } = groupsToo;

    /// <summary>The name or id looked for.</summary>
    public string Reference { get; } = reference;

    /// <summary>A pending request from that name or id, when there is one: accepting it makes the contact.</summary>
    public RequestRow? PendingRequest { get; } = pendingRequest;
}

/// <summary><see cref="AccountId"/> is not blocked.</summary>
public sealed class NotBlockedException(string accountId) : MessagingException($"{accountId} is not blocked.")
{
    /// <summary>The id given.</summary>
    public string AccountId { get; } = accountId;
}

/// <summary>No pending request comes from <see cref="Reference"/>.</summary>
public sealed class RequestNotFoundException(string reference) : MessagingException($"No pending request from '{reference}'.")
{
    /// <summary>The name or id looked for.</summary>
    public string Reference { get; } = reference;
}

/// <summary>Several contacts (or requests) go by the name <see cref="Name"/>: one must be named by its id.</summary>
public sealed class AmbiguousNameException(string name, NameList list, IReadOnlyList<string> accountIds)
    : MessagingException($"Several {list.ToString().ToLowerInvariant()} go by '{name}'.")
{
    /// <summary>The name.</summary>
    public string Name { get; } = name;

    /// <summary>Where it was looked up.</summary>
    public NameList List { get; } = list;

    /// <summary>The account ids that go by it.</summary>
    public IReadOnlyList<string> AccountIds { get; } = accountIds;
}

/// <summary>Why an account id cannot be invited.</summary>
public enum InviteRefusal
{
    /// <summary>The text is not an account id.</summary>
    NotAnAccountId,

    /// <summary>It is this profile's own id.</summary>
    OwnAccount,

    /// <summary>It is already a contact.</summary>
    AlreadyContact,

    /// <summary>Its owner has already asked to become a contact: accept instead.</summary>
    AlreadyAskedYou,

    /// <summary>The account is blocked: unblock it first.</summary>
    Blocked,
}

/// <summary>An invitation that makes no sense: see <see cref="Refusal"/>. Nothing was sent.</summary>
public sealed class InviteRefusedException(string accountId, InviteRefusal refusal, string? contactLabel = null) : MessagingException(refusal switch
{
    InviteRefusal.NotAnAccountId => $"'{accountId}' is not an account id: an id is 32 characters of a–z and 2–7.",
    InviteRefusal.OwnAccount => "That is your own account id.",
    InviteRefusal.AlreadyContact => $"{contactLabel ?? accountId} is already a contact.",
    InviteRefusal.Blocked => $"{accountId} is blocked: 'pigeon unblock {accountId}' first.",
    _ => $"{accountId} has already asked to be your contact.",
})
{
    /// <summary>The id given.</summary>
    public string AccountId { get; } = accountId;

    /// <summary>What is wrong with it.</summary>
    public InviteRefusal Refusal { get; } = refusal;
}

/// <summary>There is no session with <see cref="AccountId"/> to encrypt with.</summary>
public sealed class NoSessionException(string accountId) : MessagingException($"There is no session with {accountId}.")
{
    /// <summary>The contact.</summary>
    public string AccountId { get; } = accountId;
}

/// <summary>The keys the server handed out for <see cref="AccountId"/> are not that account's: nothing was sent.</summary>
public sealed class UntrustedKeysException(string accountId, ProtocolException inner)
    : MessagingException($"The keys the server gave for {accountId} are not that account's ({inner.Reason}): nothing was sent.", inner)
{
    /// <summary>The account whose keys were asked for.</summary>
    public string AccountId { get; } = accountId;
}

/// <summary>
/// The server could not be reached, did not answer in time, or answered that it is unavailable for
/// now (<see cref="PigeonApiException.IsTransient"/>), after whatever retries the transport makes.
/// </summary>
public class ServerUnreachableException(Uri server, Exception inner, string? message = null)
    : MessagingException(message ?? $"The server at {server} could not be reached.", inner)
{
    /// <summary>The server.</summary>
    public Uri Server { get; } = server;

    /// <summary>True when what was being sent is saved and goes out with the next delivery.</summary>
    public bool MessageSaved { get; init; }
}

/// <summary>
/// A receive loop that was ending could not get the server to confirm, within <see cref="Timeout"/>,
/// that it may delete <see cref="Pending"/> messages stored here; they will be delivered again and
/// recognised.
/// </summary>
public sealed class AcknowledgementPendingException(Uri server, int pending, TimeSpan timeout, Exception inner)
    : ServerUnreachableException(server, inner, $"The server did not confirm within {timeout.TotalSeconds:0} s that it may delete {pending} received message(s).")
{
    /// <summary>How many received messages the server still holds.</summary>
    public int Pending { get; } = pending;

    /// <summary>How long the confirmation was waited for.</summary>
    public TimeSpan Timeout { get; } = timeout;
}

/// <summary>The server refused a request: <see cref="Problem"/> says how (its type is one of <see cref="ProblemTypes"/>).</summary>
public class ServerRefusedException(PigeonApiException problem, string? accountId)
    : MessagingException($"The server refused the request ({(int)problem.Status}): {problem.Message}", problem)
{
    /// <summary>The server's answer.</summary>
    public PigeonApiException Problem { get; } = problem;

    /// <summary>The other account the request was about (a bundle fetched), when there was one.</summary>
    public string? AccountId { get; } = accountId;
}

/// <summary>The server refused to take messages for <see cref="Recipient"/>; when for good, they are marked failed.</summary>
public sealed class DepositRefusedException(string recipient, PigeonApiException problem) : ServerRefusedException(problem, recipient)
{
    /// <summary>The recipient.</summary>
    public string Recipient { get; } = recipient;
}

/// <summary>A group change that is not allowed or not well formed (ADR 0004); nothing was changed.</summary>
public class GroupChangeException(string message) : MessagingException(message);

/// <summary>A group would have more members than allowed.</summary>
public sealed class GroupTooLargeException(int members, int maxMembers)
    : GroupChangeException($"A group may have at most {maxMembers} members; this one would have {members}.")
{
    /// <summary>How many members the change would give the group.</summary>
    public int Members { get; } = members;

    /// <summary>The limit.</summary>
    public int MaxMembers { get; } = maxMembers;
}

/// <summary>No group this profile knows has the title or id prefix <see cref="Reference"/>.</summary>
public sealed class GroupNotFoundException(string reference) : MessagingException($"No group is called or has an id starting with '{reference}'.")
{
    /// <summary>The title or id prefix looked up.</summary>
    public string Reference { get; } = reference;
}

/// <summary>No attachment here has an id starting with <see cref="Reference"/>, or several do.</summary>
public sealed class AttachmentNotFoundException(string reference, int matches)
    : MessagingException(matches == 0 ? $"No attachment has an id starting with '{reference}'." : $"{matches} attachments have an id starting with '{reference}': give more of it.")
{
    /// <summary>The id prefix looked up.</summary>
    public string Reference { get; } = reference;

    /// <summary>How many matched (0, or more than one).</summary>
    public int Matches { get; } = matches;
}

/// <summary>A file that cannot be sent or saved as asked (too large, missing, an unsafe name, a destination that exists); nothing was changed.</summary>
public sealed class AttachmentRefusedException(string message, bool destinationExists = false) : MessagingException(message)
{
    /// <summary>True when the only problem is a destination that exists (overwriting it needs consent).</summary>
    public bool DestinationExists { get; } = destinationExists;
}

/// <summary>This account has no device <see cref="DeviceId"/>, or it is the device asked to remove itself.</summary>
public sealed class DeviceNotFoundException(uint deviceId, bool isThisDevice)
    : MessagingException(isThisDevice
        ? $"Device {deviceId} is this device; remove it from another of the account's devices."
        : $"This account has no device {deviceId} (see pigeon devices).")
{
    /// <summary>The device id given.</summary>
    public uint DeviceId { get; } = deviceId;

    /// <summary>True when it is this device (which removes itself only from another one).</summary>
    public bool IsThisDevice { get; } = isThisDevice;
}

/// <summary>
/// The device list the server served for <see cref="AccountId"/> is not one to trust: not signed by the
/// account's identity, rolled back, or missing. Nothing was sent to that account.
/// </summary>
public sealed class DeviceListRefusedException(string accountId, string reason)
    : MessagingException($"The device list the server gave for {accountId} was refused ({reason}); nothing was sent to it.")
{
    /// <summary>The account.</summary>
    public string AccountId { get; } = accountId;
}
