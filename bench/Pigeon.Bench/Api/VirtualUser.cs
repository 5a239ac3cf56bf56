using Pigeon.Protocol.Identity;

namespace Pigeon.Bench.Api;

/// <summary>One simulated client: an identity, its bearer token and how far it has read its mailbox.</summary>
public sealed class VirtualUser(IdentityKeyPair identity) : IDisposable
{
    /// <summary>The identity keys.</summary>
    public IdentityKeyPair Identity { get; } = identity;

    /// <summary>The account id the keys derive to.</summary>
    public string AccountId { get; } = identity.AccountId;

    /// <summary>The bearer token, once logged in.</summary>
    public string? Token { get; set; }

    /// <summary>The highest sequence number received so far.</summary>
    public long After { get; set; }

    /// <inheritdoc />
    public void Dispose() => Identity.Dispose();
}
