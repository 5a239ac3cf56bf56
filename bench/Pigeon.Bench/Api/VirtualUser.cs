using Pigeon.Protocol.Identity;

namespace Pigeon.Bench.Api;

/// <summary>One simulated client: an identity, its bearer token and how far it has read its mailbox.</summary>
public sealed class VirtualUser(IdentityKeyPair identity) : IDisposable
{
    private IdentityKeyPair? _identity = identity;

    /// <summary>The identity keys, until <see cref="ForgetIdentity"/>.</summary>
    public IdentityKeyPair Identity => _identity ?? throw new ObjectDisposedException(nameof(VirtualUser), "The identity was forgotten after login.");

    /// <summary>The account id the keys derive to.</summary>
    public string AccountId { get; } = identity.AccountId;

    /// <summary>The bearer token, once logged in.</summary>
    public string? Token { get; set; }

    /// <summary>The highest sequence number received so far.</summary>
    public long After { get; set; }

    /// <summary>
    /// Frees the private keys once the token is issued. Each key sits in libsodium's guarded memory,
    /// a few memory mappings apiece, so ten thousand live identities exceed Linux's default
    /// <c>vm.max_map_count</c> (65,530) and the runtime dies unable to map memory.
    /// </summary>
    public void ForgetIdentity()
    {
        _identity?.Dispose();
        _identity = null;
    }

    /// <inheritdoc />
    public void Dispose() => ForgetIdentity();
}
