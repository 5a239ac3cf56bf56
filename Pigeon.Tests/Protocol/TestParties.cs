using Pigeon.Protocol;
using Pigeon.Protocol.Identity;
using Pigeon.Protocol.Prekeys;

namespace Pigeon.Tests.Protocol;

/// <summary>A test user: an identity and its prekey store with a published set of prekeys.</summary>
internal sealed class TestParty : IDisposable
{
    public static readonly DateTimeOffset Now = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);

    public TestParty(int oneTimePrekeys = 3, int mlKemPrekeys = 2)
    {
        Identity = IdentityKeyPair.Generate();
        Prekeys = new PrekeyStore();
        SignedPrekey = Prekeys.RotateSignedPrekey(Identity, Now);
        LastResort = Prekeys.RotateLastResortMlKemPrekey(Identity, Now);
        OneTime = [.. Prekeys.GenerateOneTimePrekeys(oneTimePrekeys)];
        MlKem = [.. Prekeys.GenerateMlKemPrekeys(Identity, mlKemPrekeys)];
    }

    public IdentityKeyPair Identity { get; }
    public PrekeyStore Prekeys { get; }
    public SignedPrekey SignedPrekey { get; }
    public MlKemPrekey LastResort { get; }
    public List<OneTimePrekey> OneTime { get; }
    public List<MlKemPrekey> MlKem { get; }
    public string AccountId => Identity.AccountId;

    /// <summary>A bundle as the server would hand it out, taking (not removing) the first unused keys.</summary>
    public PrekeyBundle Bundle(bool withOneTime = true, bool lastResort = false) => new(
        Identity.PublicIdentity,
        SignedPrekey,
        withOneTime ? OneTime[0] : null,
        lastResort ? LastResort : MlKem[0]);

    public void Dispose() => Identity.Dispose();
}

/// <summary>Two parties with an established session (Alice initiated, Bob accepted her first message).</summary>
internal sealed class EstablishedPair : IDisposable
{
    public EstablishedPair(bool withOneTime = true)
    {
        Alice = new TestParty();
        Bob = new TestParty();
        AliceSession = Session.Initiate(Alice.Identity, Bob.Bundle(withOneTime), Bob.AccountId);
        FirstMessage = AliceSession.Encrypt("hello Bob"u8);
        var accepted = Session.Accept(Bob.Identity, Bob.Prekeys, FirstMessage);
        BobSession = accepted.Session;
        Assert.Equal("hello Bob"u8.ToArray(), accepted.Plaintext);
    }

    public TestParty Alice { get; }
    public TestParty Bob { get; }
    public Session AliceSession { get; set; }
    public Session BobSession { get; set; }
    public byte[] FirstMessage { get; }

    public void Dispose()
    {
        Alice.Dispose();
        Bob.Dispose();
    }
}

internal static class Refused
{
    /// <summary>Asserts that the action raises <see cref="ProtocolException"/> and nothing else; returns it.</summary>
    public static ProtocolException By(Action action, ProtocolError? reason = null)
    {
        var e = Assert.Throws<ProtocolException>(action);
        if (reason is not null)
        {
            Assert.Equal(reason, e.Reason);
        }

        return e;
    }

    public static ProtocolException By(Func<object?> action, ProtocolError? reason = null) => By(() => { _ = action(); }, reason);
}
