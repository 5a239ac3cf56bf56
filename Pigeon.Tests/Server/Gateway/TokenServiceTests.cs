using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Pigeon.Gateway.Authentication;
using Pigeon.Gateway.Hosting;

namespace Pigeon.Tests.Gateway;

/// <summary>Bearer tokens: a verified one is remembered until it expires; nothing else is.</summary>
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
        var (token, _) = _tokens.Issue(Account);

        Assert.Equal(TokenRejection.None, _tokens.Validate(token, out var first));
        Assert.Equal(1, _tokens.CachedTokens);
        Assert.Equal(TokenRejection.None, _tokens.Validate(token, out var again));
        Assert.Equal((Account, Account), (first, again));

        _clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal(TokenRejection.Expired, _tokens.Validate(token, out var expired));
        Assert.Equal("", expired);
    }

    [Fact]
    public void InvalidTokens_AreNeverRemembered()
    {
        var (token, _) = _tokens.Issue(Account);
        var body = token[..token.LastIndexOf('.')];

        for (var i = 0; i < 1000; i++)
        {
            var forged = $"{body}.{Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_')}";
            Assert.Equal(TokenRejection.Invalid, _tokens.Validate(forged, out _));
        }

        Assert.Equal(0, _tokens.CachedTokens);
    }

    [Fact]
    public void RememberedToken_MatchesOnlyItself()
    {
        var (token, _) = _tokens.Issue(Account);
        Assert.Equal(TokenRejection.None, _tokens.Validate(token, out _));

        var altered = token[..^1] + (token[^1] == 'A' ? 'B' : 'A');
        Assert.Equal(TokenRejection.Invalid, _tokens.Validate(altered, out var account));
        Assert.Equal("", account);
    }

    public void Dispose() => _tokens.Dispose();
}
