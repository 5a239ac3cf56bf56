using Pigeon.Protocol.Identity;

namespace Pigeon.Messaging.Store;

/// <summary>Sealed table <c>contacts</c>: whom we invited or whose request we accepted, the verified flag and the timer included.</summary>
internal sealed class ContactTable(SealedTable table)
{
    /// <summary>Every contact, by name.</summary>
    public List<ContactRow> All() =>
        [.. table.All().Select(row => Read(row.Value)).OrderBy(c => c.DisplayName, StringComparer.Ordinal).ThenBy(c => c.AccountId, StringComparer.Ordinal)];

    /// <summary>The contact with this id, or null.</summary>
    public ContactRow? Find(string accountId) => table.Find(accountId) is { } value ? Read(value) : null;

    /// <summary>Adds or replaces a contact.</summary>
    public void Upsert(ContactRow contact) => table.Put(contact.AccountId, StoreJson.Write(new StoredContact(
        contact.AccountId, contact.DisplayName, contact.PublicIdentity.ToBytes(), contact.State, contact.Verified,
        contact.CreatedAt.ToUnixTimeMilliseconds(), contact.LastMessageAt?.ToUnixTimeMilliseconds(), (long?)contact.Timer?.TotalSeconds)));

    /// <summary>Removes a contact.</summary>
    public void Delete(string accountId) => table.Delete(accountId);

    /// <summary>Moves a contact's last-message time (no effect for an id that is no contact).</summary>
    public void Touch(string accountId, DateTimeOffset at)
    {
        if (Find(accountId) is { } contact)
        {
            Upsert(contact with { LastMessageAt = at });
        }
    }

    private ContactRow Read(byte[] value)
    {
        var stored = StoreJson.Read<StoredContact>(value, table.Name);
        return new ContactRow(stored.AccountId, stored.DisplayName, PublicIdentity.FromBytes(stored.PublicIdentity), stored.State, stored.Verified,
            ProfileDatabase.FromMs(stored.CreatedAt), stored.LastMessageAt is { } last ? ProfileDatabase.FromMs(last) : null,
            stored.TimerSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : null);
    }
}
