using System.Text;
using Pigeon.Protocol.Identity;

namespace Pigeon.Messaging.Store;

/// <summary>Table <c>requests</c>: incoming contact requests not yet accepted or declined, each note sealed.</summary>
internal sealed class RequestTable(ProfileDatabase database)
{
    private const string Purpose = "request";

    /// <summary>Every pending request, oldest first.</summary>
    public List<RequestRow> All() => database.Query(
        "SELECT account_id, display_name, public_identity, message_sealed, received_at FROM requests ORDER BY received_at",
        reader => new RequestRow(
            reader.GetString(0), reader.GetString(1), PublicIdentity.FromBytes((byte[])reader[2]),
            reader.IsDBNull(3) ? null : Encoding.UTF8.GetString(database.OpenSealed((byte[])reader[3], Purpose)),
            ProfileDatabase.FromMs(reader.GetInt64(4))));

    /// <summary>Adds or replaces a pending request.</summary>
    public void Upsert(RequestRow request) => database.Execute(
        """
        INSERT INTO requests (account_id, display_name, public_identity, message_sealed, received_at) VALUES ($id, $name, $public, $message, $at)
        ON CONFLICT (account_id) DO UPDATE SET display_name = excluded.display_name, public_identity = excluded.public_identity,
            message_sealed = excluded.message_sealed, received_at = excluded.received_at
        """,
        ("$id", request.AccountId), ("$name", request.DisplayName), ("$public", request.PublicIdentity.ToBytes()),
        ("$message", request.Message is null ? null : database.Seal(Encoding.UTF8.GetBytes(request.Message), Purpose)),
        ("$at", request.ReceivedAt.ToUnixTimeMilliseconds()));

    /// <summary>How many requests are pending.</summary>
    public int Count() => (int)(long)database.Scalar("SELECT count(*) FROM requests")!;

    /// <summary>The ids of requests received before <paramref name="before"/>.</summary>
    public List<string> ReceivedBefore(DateTimeOffset before) => database.Query(
        "SELECT account_id FROM requests WHERE received_at < $before", reader => reader.GetString(0), ("$before", before.ToUnixTimeMilliseconds()));

    /// <summary>Removes a pending request.</summary>
    public void Delete(string accountId) => database.Execute("DELETE FROM requests WHERE account_id = $id", ("$id", accountId));
}
