using Pigeon.Protocol;
using Pigeon.Protocol.Devices;
using Pigeon.Protocol.Identity;

namespace Pigeon.Tests.Protocol.Devices;

/// <summary>
/// Device lists signed under the account identity: a list the identity did not sign, another
/// account's list and a rolled-back list are refused; a new device is reported.
/// </summary>
public sealed class DeviceListTests
{
    private static readonly DateTimeOffset Day = new(2026, 12, 2, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void ASignedList_Verifies_AndAnAddedDeviceIsReported()
    {
        using var bob = IdentityKeyPair.Generate();
        var first = new DeviceList(bob.AccountId, 1, [new DeviceEntry(1, Day)]);
        var second = first.With(new DeviceEntry(2, Day.AddDays(1)));
        var tracker = new DeviceListTracker(bob.PublicIdentity);

        var initial = tracker.Accept(first, bob.SignDeviceList(first));
        var change = tracker.Accept(second, bob.SignDeviceList(second));

        Assert.Equal([1u], initial.Added.Select(d => d.DeviceId));
        Assert.Equal([new DeviceEntry(2, Day.AddDays(1))], change.Added);
        Assert.Empty(change.Removed);
        Assert.Same(second, tracker.Accepted);
        Assert.Empty(tracker.Accept(second, bob.SignDeviceList(second)).Added);
    }

    [Fact]
    public void AListTheIdentityDidNotSign_OrAnotherAccountsList_IsRefused()
    {
        using var bob = IdentityKeyPair.Generate();
        using var server = IdentityKeyPair.Generate();
        var list = new DeviceList(bob.AccountId, 1, [new DeviceEntry(1, Day)]);
        var added = list.With(new DeviceEntry(7, Day));
        var tracker = new DeviceListTracker(bob.PublicIdentity);
        tracker.Accept(list, bob.SignDeviceList(list));

        // The server adds a device and signs with a key of its own, or reuses the old signature.
        var forged = new DeviceList(server.AccountId, 2, added.Devices);
        Assert.Equal(ProtocolError.InvalidSignature, Assert.Throws<ProtocolException>(() => tracker.Accept(added, server.SignDeviceList(forged))).Reason);
        Assert.Equal(ProtocolError.InvalidSignature, Assert.Throws<ProtocolException>(() => tracker.Accept(added, bob.SignDeviceList(list))).Reason);
        Assert.Equal(ProtocolError.InvalidSignature, Assert.Throws<ProtocolException>(() => tracker.Accept(forged, server.SignDeviceList(forged))).Reason);
        Assert.Throws<ArgumentException>(() => bob.SignDeviceList(forged));
        Assert.Same(list, tracker.Accepted);
    }

    [Fact]
    public void ARolledBackList_OrADifferentListAtTheSameVersion_IsRefused()
    {
        using var bob = IdentityKeyPair.Generate();
        var first = new DeviceList(bob.AccountId, 1, [new DeviceEntry(1, Day), new DeviceEntry(2, Day)]);
        var second = first.Without(2);
        var tracker = new DeviceListTracker(bob.PublicIdentity);
        tracker.Accept(second, bob.SignDeviceList(second));

        // A server replays the older list that still holds the removed device, correctly signed.
        Assert.Equal(ProtocolError.RolledBack, Assert.Throws<ProtocolException>(() => tracker.Accept(first, bob.SignDeviceList(first))).Reason);
        var sameVersion = new DeviceList(bob.AccountId, second.Version, [new DeviceEntry(3, Day)]);
        Assert.Equal(ProtocolError.RolledBack, Assert.Throws<ProtocolException>(() => tracker.Accept(sameVersion, bob.SignDeviceList(sameVersion))).Reason);
        Assert.Same(second, tracker.Accepted);
    }

    [Fact]
    public void TheList_IsBoundedAndWellFormed()
    {
        using var bob = IdentityKeyPair.Generate();
        var list = new DeviceList(bob.AccountId, 1, [new DeviceEntry(1, Day)]);
        for (uint id = 2; id <= DeviceList.DefaultMaxDevices; id++)
        {
            list = list.With(new DeviceEntry(id, Day));
        }

        Assert.Throws<ArgumentException>(() => list.With(new DeviceEntry(99, Day)));
        Assert.Throws<ArgumentException>(() => new DeviceList(bob.AccountId, 1, [new DeviceEntry(1, Day), new DeviceEntry(1, Day)]));
        Assert.Throws<ArgumentException>(() => new DeviceList(bob.AccountId, 1, []));
        Assert.Throws<ArgumentException>(() => new DeviceList(bob.AccountId, 1, [new DeviceEntry(0, Day)]));
    }
}
