using Pigeon.Gateway.Hosting;
using Pigeon.Grains.Abstractions.Accounts;
using Pigeon.Grains.Abstractions.Mailboxes;
using Pigeon.Tests.Grains;

namespace Pigeon.Tests.Gateway;

[Collection(PigeonClusterCollection.Name)]
public sealed class GrainReferencesTests(PigeonClusterFixture fixture)
{
    [Fact]
    public void Get_ReturnsTheGrainGetGrainWould_ForEachInterfaceAndKey()
    {
        var references = new GrainReferences(fixture.Grains);

        foreach (var key in new[] { "alice", "bob", "resolve" })
        {
            Assert.Equal(fixture.Grains.GetGrain<IMailboxGrain>(key).GetGrainId(), references.Get<IMailboxGrain>(key).GetGrainId());
            Assert.Equal(fixture.Grains.GetGrain<IAccountGrain>(key).GetGrainId(), references.Get<IAccountGrain>(key).GetGrainId());
        }

        Assert.NotEqual(references.Get<IMailboxGrain>("alice").GetGrainId(), references.Get<IAccountGrain>("alice").GetGrainId());
    }

    [Fact]
    public async Task Get_ReferenceReachesTheGrain()
    {
        fixture.RequirePostgres();
        var references = new GrainReferences(fixture.Grains);
        var mailbox = $"grain-references-{Guid.NewGuid():N}";

        await references.Get<IMailboxGrain>(mailbox).DepositAsync(Guid.NewGuid(), [1, 2, 3]);

        var status = await fixture.Grains.GetGrain<IMailboxGrain>(mailbox).GetStatusAsync();
        Assert.Equal(1, status.Envelopes);
    }
}
