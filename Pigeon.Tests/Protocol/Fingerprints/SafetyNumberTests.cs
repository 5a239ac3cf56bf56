using System.Text;
using Pigeon.Protocol.Fingerprints;
using Pigeon.Protocol.Identity;

namespace Pigeon.Tests.Protocol.Fingerprints;

public sealed class SafetyNumberTests
{
    [Fact]
    public void SafetyNumber_KnownAnswer_MatchesLibsignal()
    {
        // libsignal rust/protocol/src/fingerprint.rs, fingerprint_test_v1.
        var aliceKey = Convert.FromHexString("0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868");
        var bobKey = Convert.FromHexString("05f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b");
        var aliceId = Encoding.ASCII.GetBytes("+14152222222");
        var bobId = Encoding.ASCII.GetBytes("+14153333333");
        const string expected = "300354477692869396892869876765458257569162576843440918079131";

        Assert.Equal(expected, SafetyNumber.Compute(aliceKey, aliceId, bobKey, bobId, 5200));
        Assert.Equal(expected, SafetyNumber.Compute(bobKey, bobId, aliceKey, aliceId));
    }

    [Fact]
    public void SafetyNumber_OfTwoIdentities_IsTheSameOnBothSidesAndChangesWithTheKeys()
    {
        using var alice = IdentityKeyPair.Generate();
        using var bob = IdentityKeyPair.Generate();
        using var mallory = IdentityKeyPair.Generate();
        var seenByAlice = SafetyNumber.Compute(alice.PublicIdentity, bob.PublicIdentity);
        Assert.Matches("^[0-9]{60}$", seenByAlice);
        Assert.Equal(seenByAlice, SafetyNumber.Compute(bob.PublicIdentity, alice.PublicIdentity));
        Assert.NotEqual(seenByAlice, SafetyNumber.Compute(alice.PublicIdentity, mallory.PublicIdentity));
        Assert.Equal(71, SafetyNumber.Format(seenByAlice).Length);
    }
}
