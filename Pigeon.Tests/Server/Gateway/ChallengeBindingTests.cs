using Pigeon.Api;

namespace Pigeon.Tests.Gateway;

/// <summary>The origin a sign-in is bound to, as client and server both compute it.</summary>
public sealed class ChallengeBindingTests
{
    [Theory]
    [InlineData("https://Pigeon.Example.com/", "https://pigeon.example.com")]
    [InlineData("https://pigeon.example.com:443/v1/", "https://pigeon.example.com")]
    [InlineData("http://pigeon.example.com:80", "http://pigeon.example.com")]
    [InlineData("https://pigeon.example.com:8443", "https://pigeon.example.com:8443")]
    [InlineData("http://user:secret@127.0.0.1:8080/x?y=1", "http://127.0.0.1:8080")]
    [InlineData("http://[::1]:8080/", "http://[::1]:8080")]
    public void Origin_IsSchemeHostAndPort_Normalised(string address, string origin) =>
        Assert.Equal(origin, ChallengeBinding.OriginOf(new Uri(address)));

    [Fact]
    public void Binding_SeparatesOriginFromChallenge_AndDiffersPerOrigin()
    {
        byte[] challenge = [1, 2, 3];

        Assert.NotEqual(ChallengeBinding.Bind("https://a.example", challenge), ChallengeBinding.Bind("https://b.example", challenge));
        // The origin's length is part of the message: no origin and challenge pair reads as another.
        Assert.NotEqual(ChallengeBinding.Bind("https://a.example", [.. "x"u8, .. challenge]), ChallengeBinding.Bind("https://a.examplex", challenge));
        Assert.Null(ChallengeBinding.TryOriginOf("ftp://a.example"));
        Assert.Null(ChallengeBinding.TryOriginOf("not a url"));
    }
}
