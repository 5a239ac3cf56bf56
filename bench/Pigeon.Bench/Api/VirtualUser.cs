using Pigeon.Api;
using Pigeon.Protocol.Identity;

namespace Pigeon.Bench.Api;

/// <summary>One simulated client: an identity, its API client (which holds its token) and how far it has read its mailbox.</summary>
public sealed class VirtualUser : IDisposable
{
    private IdentityKeyPair? _identity;

    /// <summary>A user of <paramref name="identity"/> whose requests go over the shared <paramref name="http"/>.</summary>
    public VirtualUser(IdentityKeyPair identity, HttpClient http, TimeSpan requestTimeout)
    {
        _identity = identity;
        AccountId = identity.AccountId;
        Api = new PigeonApiClient(http, new ApiCredentials(AccountId, challenge => Identity.SignAuthChallenge(AccountId, challenge)))
        {
            RequestTimeout = requestTimeout,
        };
    }

    /// <summary>The identity keys, until <see cref="ForgetIdentity"/>.</summary>
    public IdentityKeyPair Identity => _identity ?? throw new ObjectDisposedException(nameof(VirtualUser), "The identity was forgotten after login.");

    /// <summary>The account id the keys derive to.</summary>
    public string AccountId { get; }

    /// <summary>The API as this user; it signs in with <see cref="Identity"/>, and keeps the token.</summary>
    public PigeonApiClient Api { get; }

    /// <summary>The delivery key the user registered (end-to-end mode), with which others deposit to it sealed.</summary>
    public Protocol.Delivery.DeliveryKey? DeliveryKey { get; set; }

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
    public void Dispose()
    {
        ForgetIdentity();
        Api.Dispose();
    }
}
