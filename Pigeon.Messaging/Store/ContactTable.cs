using Microsoft.Data.Sqlite;
using Pigeon.Protocol.Identity;

namespace Pigeon.Messaging.Store;

/// <summary>Table <c>contacts</c>: whom we invited or whose request we accepted.</summary>
internal sealed class ContactTable(ProfileDatabase database)
{
    private const string Columns = "account_id, display_name, public_identity, state, verified, created_at, last_message_at";

    /// <summary>Every contact, by name.</summary>
    public List<ContactRow> All() => database.Query($"SELECT {Columns} FROM contacts ORDER BY display_name, account_id", Read);

    /// <summary>The contact with this id, or null.</summary>
    public ContactRow? Find(string accountId) =>
        database.Query($"SELECT {Columns} FROM contacts WHERE account_id = $id", Read, ("$id", accountId)).SingleOrDefault();

    /// <summary>Adds or replaces a contact.</summary>
    public void Upsert(ContactRow contact) => database.Execute(
        $"""
        INSERT INTO contacts ({Columns}) VALUES ($id, $name, $public, $state, $verified, $created, $last)
        ON CONFLICT (account_id) DO UPDATE SET display_name = excluded.display_name, public_identity = excluded.public_identity,
            state = excluded.state, verified = excluded.verified, last_message_at = excluded.last_message_at
        """,
        ("$id", contact.AccountId), ("$name", contact.DisplayName), ("$public", contact.PublicIdentity.ToBytes()),
        ("$state", contact.State == ContactState.Accepted ? "accepted" : "invited"), ("$verified", contact.Verified ? 1 : 0),
        ("$created", contact.CreatedAt.ToUnixTimeMilliseconds()), ("$last", contact.LastMessageAt?.ToUnixTimeMilliseconds()));

    /// <summary>Removes a contact.</summary>
    public void Delete(string accountId) => database.Execute("DELETE FROM contacts WHERE account_id = $id", ("$id", accountId));

    /// <summary>Moves a contact's last-message time (no effect for an id that is no contact).</summary>
    public void Touch(string accountId, DateTimeOffset at) =>
        database.Execute("UPDATE contacts SET last_message_at = $at WHERE account_id = $id", ("$id", accountId), ("$at", at.ToUnixTimeMilliseconds()));

    private static ContactRow Read(SqliteDataReader reader) => new(
        reader.GetString(0), reader.GetString(1), PublicIdentity.FromBytes((byte[])reader[2]),
        reader.GetString(3) == "accepted" ? ContactState.Accepted : ContactState.Invited,
        reader.GetInt64(4) != 0, ProfileDatabase.FromMs(reader.GetInt64(5)), reader.IsDBNull(6) ? null : ProfileDatabase.FromMs(reader.GetInt64(6)));
}
