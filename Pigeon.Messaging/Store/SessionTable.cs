using System.Security.Cryptography;
using Pigeon.Protocol;

namespace Pigeon.Messaging.Store;

/// <summary>
/// Sealed table <c>sessions</c>: per contact (by the keyed hash of the account id), its
/// <see cref="SessionRecord"/> (the current session, which sends, and up to
/// <see cref="SessionRecord.MaxArchivedSessions"/> earlier ones, which still decrypt).
/// </summary>
internal sealed class SessionTable(SealedTable table)
{
    /// <summary>The session record with a contact, or null.</summary>
    public SessionRecord? Load(string accountId)
    {
        if (table.Find(accountId) is not { } blob)
        {
            return null;
        }

        try
        {
            return SessionRecord.Deserialize(blob);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(blob);
        }
    }

    /// <summary>Stores a contact's record (after every encrypt and decrypt); the one it replaces is overwritten.</summary>
    public void Save(string accountId, SessionRecord record)
    {
        var blob = record.Serialize();
        try
        {
            table.Put(accountId, blob);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(blob);
        }
    }

    /// <summary>Forgets the sessions with an account.</summary>
    public void Delete(string accountId) => table.Delete(accountId);

    /// <summary>
    /// Forgets the records of accounts that are neither a contact nor a pending request (a removed
    /// contact's, or a stranger's that nothing refers to); returns how many.
    /// </summary>
    public int DeleteStrangers(ISet<string> known)
    {
        var deleted = 0;
        foreach (var (accountId, value) in table.All())
        {
            CryptographicOperations.ZeroMemory(value);
            if (!known.Contains(accountId) && table.Delete(accountId))
            {
                deleted++;
            }
        }

        return deleted;
    }
}
