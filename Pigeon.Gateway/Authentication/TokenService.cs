using System.Globalization;
using System.Security.Cryptography;
using System.Text;
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
/// Issues and checks bearer tokens: <c>v1.&lt;account id&gt;.&lt;expiry, unix seconds&gt;.&lt;HMAC-SHA256, base64url&gt;</c>.
/// The MAC key comes from configuration so every gateway replica accepts every other's tokens; a
/// previous key stays accepted during a rotation. Comparisons are constant-time.
/// </summary>
public sealed class TokenService
{
    private const string Version = "v1";
    private static readonly byte[] Domain = Encoding.ASCII.GetBytes("Pigeon/1/bearer-token\0");

    private readonly byte[] _signingKey;
    private readonly byte[]? _previousKey;
    private readonly TimeSpan _lifetime;
    private readonly TimeProvider _time;

    public TokenService(IOptions<AuthOptions> options, [FromKeyedServices(PigeonTime.ServiceKey)] TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        _signingKey = Convert.FromBase64String(options.Value.TokenSigningKey);
        _previousKey = string.IsNullOrWhiteSpace(options.Value.PreviousTokenSigningKey) ? null : Convert.FromBase64String(options.Value.PreviousTokenSigningKey);
        _lifetime = options.Value.TokenLifetime;
        _time = time;
    }

    /// <summary>Issues a token for an account; returns it with its expiry.</summary>
    public (string Token, DateTimeOffset ExpiresAt) Issue(string accountId)
    {
        var expiresAt = DateTimeOffset.FromUnixTimeSeconds((_time.GetUtcNow() + _lifetime).ToUnixTimeSeconds());
        var body = $"{Version}.{accountId}.{expiresAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)}";
        return ($"{body}.{Base64Url(Mac(_signingKey, body))}", expiresAt);
    }

    /// <summary>Checks a token; on success returns the account it was issued to.</summary>
    public TokenRejection Validate(string token, out string accountId)
    {
        accountId = "";
        var parts = token.Split('.');
        if (parts.Length != 4 || parts[0] != Version || !AccountId.IsWellFormed(parts[1])
            || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var expiry)
            || !TryFromBase64Url(parts[3], out var mac))
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

        accountId = parts[1];
        return TokenRejection.None;
    }

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
