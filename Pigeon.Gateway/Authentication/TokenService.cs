using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Pigeon.Gateway.Hosting;
using Pigeon.Hosting;
using Pigeon.Protocol.Identity;

namespace Pigeon.Gateway.Authentication;

/// <summary>Why a token was not accepted.</summary>
public enum TokenRejection
{
    /// <summary>The token was accepted.</summary>
    None,

    /// <summary>Not a token of ours: wrong shape, or a signature no current key made.</summary>
    Invalid,

    /// <summary>A genuine token past its expiry.</summary>
    Expired,
}

/// <summary>
/// Issues and checks bearer tokens, each for one device of an account (issue 16):
/// <c>v2.&lt;account id&gt;.&lt;device id&gt;.&lt;expiry, unix seconds&gt;.&lt;HMAC-SHA256, base64url&gt;</c>.
/// A token says nothing about whether its device is still on the account's list: the routes ask the
/// account grain for that on every request (<c>IAccountGrain.EnsureDeviceActiveAsync</c>).
/// The MAC key comes from configuration so every gateway replica accepts every other's tokens; a
/// previous key stays accepted during a rotation. Comparisons are constant-time.
/// <para>
/// A token whose MAC verified is remembered until it expires (at most <see cref="MaxCachedTokens"/>
/// of them), so a client's next requests cost a lookup instead of two HMACs; its expiry is still
/// checked against the clock on every use. Only genuine tokens are remembered: invalid ones cost
/// the full check each time and take no memory. A lookup matches the whole token, MAC included.
/// </para>
/// </summary>
public sealed class TokenService : IDisposable
{
    /// <summary>The most verified tokens remembered at once; past it, new ones are checked in full until some expire.</summary>
    public const int MaxCachedTokens = 100_000;

    private const string Version = "v2";
    private static readonly byte[] Domain = Encoding.ASCII.GetBytes("Pigeon/2/bearer-token\0");

    private readonly byte[] _signingKey;
    private readonly byte[]? _previousKey;
    private readonly TimeSpan _lifetime;
    private readonly TimeProvider _time;
    private readonly MemoryCache _verified = new(new MemoryCacheOptions { SizeLimit = MaxCachedTokens });

    public TokenService(IOptions<AuthOptions> options, [FromKeyedServices(PigeonTime.ServiceKey)] TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        _signingKey = Convert.FromBase64String(options.Value.TokenSigningKey);
        _previousKey = string.IsNullOrWhiteSpace(options.Value.PreviousTokenSigningKey) ? null : Convert.FromBase64String(options.Value.PreviousTokenSigningKey);
        _lifetime = options.Value.TokenLifetime;
        _time = time;
    }

    /// <summary>Issues a token for device <paramref name="deviceId"/> of an account; returns it with its expiry.</summary>
    public (string Token, DateTimeOffset ExpiresAt) Issue(string accountId, uint deviceId)
    {
        ArgumentOutOfRangeException.ThrowIfZero(deviceId);
        var expiresAt = DateTimeOffset.FromUnixTimeSeconds((_time.GetUtcNow() + _lifetime).ToUnixTimeSeconds());
        var body = string.Create(CultureInfo.InvariantCulture, $"{Version}.{accountId}.{deviceId}.{expiresAt.ToUnixTimeSeconds()}");
        return ($"{body}.{Base64Url(Mac(_signingKey, body))}", expiresAt);
    }

    /// <summary>How many verified tokens are remembered now.</summary>
    internal int CachedTokens => _verified.Count;

    /// <summary>Checks a token; on success returns the account and the device it was issued to.</summary>
    public TokenRejection Validate(string token, out string accountId, out uint deviceId)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (_verified.TryGetValue(token, out VerifiedToken? known))
        {
            var live = _time.GetUtcNow().ToUnixTimeSeconds() < known!.Expiry;
            (accountId, deviceId) = live ? (known.AccountId, known.DeviceId) : ("", 0u);
            return live ? TokenRejection.None : TokenRejection.Expired;
        }

        (accountId, deviceId) = ("", 0u);
        var parts = token.Split('.');
        if (parts.Length != 5 || parts[0] != Version || !AccountId.IsWellFormed(parts[1])
            || !uint.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var device) || device == 0
            // One string per device id too: no leading zeros.
            || device.ToString(CultureInfo.InvariantCulture) != parts[2]
            || !long.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out var expiry)
            || !TryFromBase64Url(parts[4], out var mac)
            // One string per token: base64's last character has spare bits, and a variant must not pass.
            || Base64Url(mac) != parts[4])
        {
            return TokenRejection.Invalid;
        }

        var body = token[..token.LastIndexOf('.')];
        var genuine = CryptographicOperations.FixedTimeEquals(mac, Mac(_signingKey, body))
            | (_previousKey is not null && CryptographicOperations.FixedTimeEquals(mac, Mac(_previousKey, body)));
        if (!genuine)
        {
            return TokenRejection.Invalid;
        }

        if (_time.GetUtcNow().ToUnixTimeSeconds() >= expiry)
        {
            return TokenRejection.Expired;
        }

        (accountId, deviceId) = (parts[1], device);
        _verified.Set(token, new VerifiedToken(accountId, device, expiry), new MemoryCacheEntryOptions
        {
            Size = 1,
            AbsoluteExpiration = DateTimeOffset.FromUnixTimeSeconds(expiry),
        });
        return TokenRejection.None;
    }

    /// <inheritdoc />
    public void Dispose() => _verified.Dispose();

    private sealed record VerifiedToken(string AccountId, uint DeviceId, long Expiry);

    private static byte[] Mac(byte[] key, string body)
    {
        byte[] message = [.. Domain, .. Encoding.ASCII.GetBytes(body)];
        return HMACSHA256.HashData(key, message);
    }

    private static string Base64Url(byte[] data) => Convert.ToBase64String(data).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static bool TryFromBase64Url(string text, out byte[] data)
    {
        data = [];
        if (text.Length is 0 or > 64 || text.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_')))
        {
            return false;
        }

        var padded = text.Replace('-', '+').Replace('_', '/') + new string('=', (4 - (text.Length % 4)) % 4);
        var buffer = new byte[padded.Length];
        if (!Convert.TryFromBase64String(padded, buffer, out var length))
        {
            return false;
        }

        data = buffer[..length];
        return true;
    }
}
