using System.Security.Cryptography;
using Pigeon.Protocol;

namespace Pigeon.Messaging.Store;

/// <summary>Table <c>sessions</c>: per contact, the session's base key and its sealed state.</summary>
internal sealed class SessionTable(ProfileDatabase database)
{
    /// <summary>The session with a contact, or null.</summary>
    public Session? Load(string accountId) =>
        database.Scalar("SELECT state_sealed FROM sessions WHERE account_id = $id", ("$id", accountId)) is byte[] sealedState
            ? Open(sealedState, accountId)
            : null;

    /// <summary>Every session, most recently used first (the order a receive tries them in).</summary>
    public List<Session> LoadAll()
    {
        var sealedStates = database.Query("SELECT account_id, state_sealed FROM sessions ORDER BY updated_at DESC",
            reader => (Id: reader.GetString(0), State: (byte[])reader[1]));
        return [.. sealedStates.Select(s => Open(s.State, s.Id))];
    }

    /// <summary>Stores the session state (after every encrypt and decrypt).</summary>
    public void Save(Session session, DateTimeOffset now)
    {
        var blob = session.Serialize();
        try
        {
            database.Execute(
                """
                INSERT INTO sessions (account_id, base_key, state_sealed, updated_at) VALUES ($id, $base, $state, $now)
                ON CONFLICT (account_id) DO UPDATE SET base_key = excluded.base_key, state_sealed = excluded.state_sealed, updated_at = excluded.updated_at
                """,
                ("$id", session.RemoteAccountId), ("$base", session.BaseKey),
                ("$state", database.Seal(blob, Purpose(session.RemoteAccountId))), ("$now", now.ToUnixTimeMilliseconds()));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(blob);
        }
    }

    /// <summary>Forgets the session with an account.</summary>
    public void Delete(string accountId) => database.Execute("DELETE FROM sessions WHERE account_id = $id", ("$id", accountId));

    // Bound to the contact: a session state copied into another contact's row does not open.
    private static string Purpose(string accountId) => "session:" + accountId;

    private Session Open(byte[] sealedState, string accountId)
    {
        var blob = database.OpenSealed(sealedState, Purpose(accountId));
        try
        {
            return Session.Deserialize(blob);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(blob);
        }
    }
}
