using Pigeon.Protocol.Identity;

namespace Pigeon.Messaging.Store;

/// <summary>Sealed table <c>requests</c>: incoming contact requests not yet accepted or declined.</summary>
internal sealed class RequestTable(SealedTable table)
{
    /// <summary>Every pending request, oldest first.</summary>
    public List<RequestRow> All() => [.. table.All().Select(row => Read(row.Value)).OrderBy(r => r.ReceivedAt)];

    /// <summary>The pending request from this account, or null.</summary>
    public RequestRow? Find(string accountId) => table.Find(accountId) is { } value ? Read(value) : null;

    /// <summary>Adds or replaces a pending request.</summary>
    public void Upsert(RequestRow request) => table.Put(request.AccountId, StoreJson.Write(new StoredRequest(
        request.AccountId, request.DisplayName, request.PublicIdentity.ToBytes(), request.Message, request.ReceivedAt.ToUnixTimeMilliseconds())));

    /// <summary>How many requests are pending.</summary>
    public int Count() => table.Count();

    /// <summary>The ids of requests received before <paramref name="before"/>.</summary>
    public List<string> ReceivedBefore(DateTimeOffset before) => [.. All().Where(r => r.ReceivedAt < before).Select(r => r.AccountId)];

    /// <summary>Removes a pending request.</summary>
    public void Delete(string accountId) => table.Delete(accountId);

    private RequestRow Read(byte[] value)
    {
        var stored = StoreJson.Read<StoredRequest>(value, table.Name);
        return new RequestRow(stored.AccountId, stored.DisplayName, PublicIdentity.FromBytes(stored.PublicIdentity), stored.Message, ProfileDatabase.FromMs(stored.ReceivedAt));
    }
}
