namespace Pigeon.Tests;

public sealed class SmokeTests
{
    [Fact]
    public void Protocol_WireVersion_IsOne() => Assert.Equal(1, Pigeon.Protocol.ProtocolInfo.WireVersion);
}
