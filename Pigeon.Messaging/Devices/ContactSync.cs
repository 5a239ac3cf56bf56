using System.Text.Json.Serialization;
using Pigeon.Messaging.Delivery;
using Pigeon.Messaging.Store;
using Pigeon.Protocol;
using Pigeon.Protocol.Identity;

namespace Pigeon.Messaging.Devices;

/// <summary>What one of our devices did with an account, for our other devices to do too (<see cref="ContactSync"/>).</summary>
public enum ContactChange
{
    /// <summary>Invited, accepted, renamed, verified or given a timer: the snapshot is the contact as it is now.</summary>
    Saved,

    /// <summary>Removed: forgotten with its history.</summary>
    Removed,

    /// <summary>Blocked: forgotten, and its envelopes dropped from then on.</summary>
    Blocked,

    /// <summary>Unblocked.</summary>
    Unblocked,

    /// <summary>Its request declined: forgotten.</summary>
    Declined,
}

/// <summary>
/// A contact as one device tells another of the same account (issue 16): in the link bundle a new
/// device starts from, and, after each change, in a <c>contact</c> inner message to our other
/// devices, which apply it (<see cref="Apply"/>). Short JSON member names, like the inner message.
/// </summary>
/// <param name="AccountId">The contact's account id.</param>
/// <param name="Change">What happened.</param>
/// <param name="DisplayName">For <see cref="ContactChange.Saved"/>: the contact's name.</param>
/// <param name="Identity">For <see cref="ContactChange.Saved"/>: the contact's public identity.</param>
/// <param name="State">For <see cref="ContactChange.Saved"/>: invited or accepted.</param>
/// <param name="Verified">For <see cref="ContactChange.Saved"/>: whether that identity was checked in person.</param>
/// <param name="CreatedAt">For <see cref="ContactChange.Saved"/>: when it became a contact (Unix milliseconds).</param>
/// <param name="TimerSeconds">For <see cref="ContactChange.Saved"/>: the conversation's disappearing timer; null for off.</param>
/// <param name="DeliveryKey">For <see cref="ContactChange.Saved"/>: the contact's delivery key (epoch ‖ key), when we hold it.</param>
public sealed record ContactSync(
    [property: JsonPropertyName("id")] string AccountId,
    [property: JsonPropertyName("do"), JsonConverter(typeof(JsonStringEnumConverter<ContactChange>))] ContactChange Change,
    [property: JsonPropertyName("n")] string? DisplayName = null,
    [property: JsonPropertyName("ik")] byte[]? Identity = null,
    [property: JsonPropertyName("s"), JsonConverter(typeof(JsonStringEnumConverter<ContactState>))] ContactState? State = null,
    [property: JsonPropertyName("vf")] bool? Verified = null,
    [property: JsonPropertyName("ca")] long? CreatedAt = null,
    [property: JsonPropertyName("e")] long? TimerSeconds = null,
    [property: JsonPropertyName("dk")] byte[]? DeliveryKey = null)
{
    /// <summary>A <see cref="ContactChange.Saved"/> snapshot of <paramref name="contact"/> as <paramref name="database"/> holds it.</summary>
    internal static ContactSync Saved(ProfileDatabase database, ContactRow contact) => new(contact.AccountId, ContactChange.Saved, contact.DisplayName,
        contact.PublicIdentity.ToBytes(), contact.State, contact.Verified, contact.CreatedAt.ToUnixTimeMilliseconds(), (long?)contact.Timer?.TotalSeconds,
        database.DeliveryKeys.Load(contact.AccountId)?.ToBytes());

    /// <summary>What is wrong with it, or null when it is well formed.</summary>
    internal string? Problem()
    {
        if (!Protocol.Identity.AccountId.IsWellFormed(AccountId))
        {
            return "it names no account";
        }

        if (Change != ContactChange.Saved)
        {
            return null;
        }

        if (Identity is null || State is null || (DisplayName ?? "").Length > InnerMessage.MaxNameLength || (DisplayName ?? "").Any(char.IsControl))
        {
            return "a saved contact lacks its identity or state, or has a malformed name";
        }

        try
        {
            var identity = PublicIdentity.FromBytes(Identity);
            if (identity.AccountId != AccountId)
            {
                return "the identity is not that account's";
            }

            _ = DeliveryKey is null ? null : Protocol.Delivery.DeliveryKey.FromBytes(DeliveryKey);
        }
        catch (ProtocolException exception)
        {
            return $"a key is malformed ({exception.Reason})";
        }

        return DisappearingTimer.IsValid(Timer) ? null : "the timer is out of range";
    }

    private TimeSpan? Timer => TimerSeconds is null or 0 ? null : TimeSpan.FromSeconds(Math.Clamp(TimerSeconds.Value, 0, long.MaxValue / TimeSpan.TicksPerSecond));

    /// <summary>
    /// Makes <paramref name="database"/> agree (call inside a transaction; <see cref="Problem"/> must be
    /// null): a saved contact replaces what is kept under the account (a pending request from it is
    /// taken as accepted, a changed timer goes into the history), and a removal, block or declined
    /// request forgets the account as the device that did it forgot it. Returns the contact saved, or null.
    /// </summary>
    internal ContactRow? Apply(ProfileDatabase database, DateTimeOffset now)
    {
        switch (Change)
        {
            case ContactChange.Removed:
                database.ForgetAccount(AccountId);
                return null;
            case ContactChange.Blocked:
                database.ForgetAccount(AccountId);
                database.Blocked.Add(AccountId, now);
                return null;
            case ContactChange.Unblocked:
                database.Blocked.Remove(AccountId);
                return null;
            case ContactChange.Declined:
                if (database.Requests.Find(AccountId) is not null && database.Contacts.Find(AccountId) is null)
                {
                    database.ForgetAccount(AccountId);
                }

                return null;
        }

        var identity = PublicIdentity.FromBytes(Identity!);
        var existing = database.Contacts.Find(AccountId);
        var contact = new ContactRow(AccountId, DisplayName ?? "", identity, State!.Value, Verified == true,
            existing?.CreatedAt ?? DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(CreatedAt ?? 0, 0, 253402300799999)), existing?.LastMessageAt, Timer);
        // A contact both sides call accepted stays accepted here even if the other device still saw it invited.
        contact = existing is { State: ContactState.Accepted } && contact.State == ContactState.Invited ? contact with { State = ContactState.Accepted } : contact;
        database.Blocked.Remove(AccountId);
        database.Requests.Delete(AccountId);
        database.Contacts.Upsert(contact);
        if (existing is not null && existing.Timer != contact.Timer)
        {
            database.Messages.Add(AccountId, MessageDirection.Out, MessageKind.Timer, MessageStatus.Sent, Guid.NewGuid(), DisappearingTimer.Format(contact.Timer),
                now, now);
        }

        if (DeliveryKey is not null)
        {
            var key = Protocol.Delivery.DeliveryKey.FromBytes(DeliveryKey);
            if (database.DeliveryKeys.Load(AccountId) is not { } held || held.Epoch < key.Epoch)
            {
                database.DeliveryKeys.Save(AccountId, key);
            }
        }

        return contact;
    }
}
