using System.Net;
using Pigeon.Gateway.Limits;

namespace Pigeon.Tests.Gateway;

/// <summary>The key a client address is counted under by the per-address limits.</summary>
public sealed class AddressKeyTests
{
    [Theory]
    [InlineData("203.0.113.7", "203.0.113.7")]
    [InlineData("::ffff:203.0.113.7", "203.0.113.7")]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:3::1", "2001:db8:1:3::/64")]
    [InlineData("::1", "::/64")]
    public void Address_IsKeyedByItselfForIpv4_AndByItsSlash64ForIpv6(string address, string key) =>
        Assert.Equal(key, RateLimits.AddressKey(IPAddress.Parse(address)));

    [Fact]
    public void NoAddress_HasTheEmptyKey() => Assert.Equal("", RateLimits.AddressKey(null));
}
