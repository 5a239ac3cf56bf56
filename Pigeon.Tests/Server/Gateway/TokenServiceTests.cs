using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Pigeon.Gateway.Authentication;
using Pigeon.Gateway.Hosting;

namespace Pigeon.Tests.Gateway;

/// <summary>Bearer tokens (v2, naming account and device): a verified one is remembered until it expires; nothing else is.</summary>
public sealed class TokenServiceTests : IDisposable
{
    private const string Account = "abcdefghijklmnopqrstuvwxyz234567";

    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private readonly TokenService _tokens;

    public TokenServiceTests() =>
        _tokens = new TokenService(Options.Create(new AuthOptions { TokenSigningKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) }), _clock);

    [Fact]
    public void Token_VerifiedOnce_IsRememberedUntilItExpires_AndThenRefusedAsExpired()
    {
        var (token, _) = _tokens.Issue(Account, 3);

        Assert.Equal(TokenRejection.None, _tokens.Validate(token, out var first, out var firstDevice));
        Assert.Equal(1, _tokens.CachedTokens);
        Assert.Equal(TokenRejection.None, _tokens.Validate(token, out var again, out var againDevice));
        Assert.Equal((Account, 3u, Account, 3u), (first, firstDevice, again, againDevice));

        _clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal(TokenRejection.Expired, _tokens.Validate(token, out var expired, out var expiredDevice));
        Assert.Equal(("", 0u), (expired, expiredDevice));
    }

    [Fact]
    public void Token_IsVersion2_NamingAccountAndDevice_AndAnotherDeviceIsAnotherToken()
    {
        var (token, _) = _tokens.Issue(Account, 2);
        var (other, _) = _tokens.Issue(Account, 5);

        var parts = token.Split('.');
        Assert.Equal(5, parts.Length);
        Assert.Equal(("v2", Account, "2"), (parts[0], parts[1], parts[2]));
        Assert.Equal(TokenRejection.None, _tokens.Validate(other, out _, out var device));
        Assert.Equal(5u, device);
        // The device is under the MAC: moving a token to another device breaks it.
        var moved = string.Join('.', parts[0], parts[1], "5", parts[3], parts[4]);
        Assert.Equal(TokenRejection.Invalid, _tokens.Validate(moved, out _, out _));
        // A version 1 token (no device) is no token any more, whatever its MAC.
        Assert.Equal(TokenRejection.Invalid, _tokens.Validate(string.Join('.', "v1", parts[1], parts[3], parts[4]), out _, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => _tokens.Issue(Account, 0));
    }

    [Fact]
    public void InvalidTokens_AreNeverRemembered()
    {
        var (token, _) = _tokens.Issue(Account, 1);
        var body = token[..token.LastIndexOf('.')];

        for (var i = 0; i < 1000; i++)
        {
            var forged = $"{body}.{Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_')}";
            Assert.Equal(TokenRejection.Invalid, _tokens.Validate(forged, out _, out _));
        }

        Assert.Equal(0, _tokens.CachedTokens);
    }

    [Fact]
    public void RememberedToken_MatchesOnlyItself()
    {
        var (token, _) = _tokens.Issue(Account, 1);
        Assert.Equal(TokenRejection.None, _tokens.Validate(token, out _, out _));

        var altered = token[..^1] + (token[^1] == 'A' ? 'B' : 'A');
        Assert.Equal(TokenRejection.Invalid, _tokens.Validate(altered, out var account, out _));
        Assert.Equal("", account);
    }

    public void Dispose() => _tokens.Dispose();
}
