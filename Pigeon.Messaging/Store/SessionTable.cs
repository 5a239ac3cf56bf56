using System.Security.Cryptography;
using Pigeon.Protocol;

namespace Pigeon.Messaging.Store;

/// <summary>
/// Table <c>sessions</c>: per contact, its sealed <see cref="SessionRecord"/> (the current session,
/// which sends, and up to <see cref="SessionRecord.MaxArchivedSessions"/> earlier ones, which still
/// decrypt).
/// </summary>
internal sealed class SessionTable(ProfileDatabase database)
{
    /// <summary>The session record with a contact, or null.</summary>
    public SessionRecord? Load(string accountId) =>
        database.Scalar("SELECT record_sealed FROM sessions WHERE account_id = $id", ("$id", accountId)) is byte[] sealedRecord
            ? Open(sealedRecord, accountId)
            : null;

    /// <summary>Stores a contact's record (after every encrypt and decrypt).</summary>
    public void Save(string accountId, SessionRecord record, DateTimeOffset now)
    {
        var blob = record.Serialize();
        try
        {
            database.Execute(
                """
                INSERT INTO sessions (account_id, record_sealed, updated_at) VALUES ($id, $record, $now)
                ON CONFLICT (account_id) DO UPDATE SET record_sealed = excluded.record_sealed, updated_at = excluded.updated_at
                """,
                ("$id", accountId), ("$record", database.Seal(blob, Purpose(accountId))), ("$now", now.ToUnixTimeMilliseconds()));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(blob);
        }
    }

    /// <summary>Forgets the sessions with an account.</summary>
    public void Delete(string accountId) => database.Execute("DELETE FROM sessions WHERE account_id = $id", ("$id", accountId));

    /// <summary>
    /// Forgets the records of accounts that are neither a contact nor a pending request (a removed
    /// contact's, or a stranger's that nothing refers to); returns how many.
    /// </summary>
    public int DeleteStrangers() => database.Execute(
        """
        DELETE FROM sessions WHERE account_id NOT IN (SELECT account_id FROM contacts)
                               AND account_id NOT IN (SELECT account_id FROM requests)
        """);

    // Bound to the contact: a record copied into another contact's row does not open.
    private static string Purpose(string accountId) => "session:" + accountId;

    private SessionRecord Open(byte[] sealedRecord, string accountId)
    {
        var blob = database.OpenSealed(sealedRecord, Purpose(accountId));
        try
        {
            return SessionRecord.Deserialize(blob);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(blob);
        }
    }
}
