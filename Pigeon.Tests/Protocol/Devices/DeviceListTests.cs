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

    // A device's key, the same for the same id, so lists built twice compare equal.
    private static DeviceEntry Device(uint id, DateTimeOffset addedAt) => new(id, addedAt, [.. Enumerable.Repeat((byte)id, 32)]);

    [Fact]
    public void ASignedList_Verifies_AndAnAddedDeviceIsReported()
    {
        using var bob = IdentityKeyPair.Generate();
        var first = new DeviceList(bob.AccountId, 1, [Device(1, Day)]);
        var second = first.With(Device(2, Day.AddDays(1)));
        var tracker = new DeviceListTracker(bob.PublicIdentity);

        var initial = tracker.Accept(first, bob.SignDeviceList(first));
        var change = tracker.Accept(second, bob.SignDeviceList(second));

        Assert.Equal([1u], initial.Added.Select(d => d.DeviceId));
        Assert.True(Assert.Single(change.Added).Same(Device(2, Day.AddDays(1))));
        Assert.Empty(change.Removed);
        Assert.Same(second, tracker.Accepted);
        Assert.Empty(tracker.Accept(second, bob.SignDeviceList(second)).Added);
    }

    [Fact]
    public void AListTheIdentityDidNotSign_OrAnotherAccountsList_IsRefused()
    {
        using var bob = IdentityKeyPair.Generate();
        using var server = IdentityKeyPair.Generate();
        var list = new DeviceList(bob.AccountId, 1, [Device(1, Day)]);
        var added = list.With(Device(7, Day));
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
        var first = new DeviceList(bob.AccountId, 1, [Device(1, Day), Device(2, Day)]);
        var second = first.Without(2);
        var tracker = new DeviceListTracker(bob.PublicIdentity);
        tracker.Accept(second, bob.SignDeviceList(second));

        // A server replays the older list that still holds the removed device, correctly signed.
        Assert.Equal(ProtocolError.RolledBack, Assert.Throws<ProtocolException>(() => tracker.Accept(first, bob.SignDeviceList(first))).Reason);
        var sameVersion = new DeviceList(bob.AccountId, second.Version, [Device(3, Day)]);
        Assert.Equal(ProtocolError.RolledBack, Assert.Throws<ProtocolException>(() => tracker.Accept(sameVersion, bob.SignDeviceList(sameVersion))).Reason);
        Assert.Same(second, tracker.Accepted);
    }

    [Fact]
    public void TheList_IsBoundedAndWellFormed()
    {
        using var bob = IdentityKeyPair.Generate();
        var list = new DeviceList(bob.AccountId, 1, [Device(1, Day)]);
        for (uint id = 2; id <= DeviceList.DefaultMaxDevices; id++)
        {
            list = list.With(Device(id, Day));
        }

        Assert.Throws<ArgumentException>(() => list.With(Device(99, Day)));
        Assert.Throws<ArgumentException>(() => new DeviceList(bob.AccountId, 1, [Device(1, Day), Device(1, Day)]));
        Assert.Throws<ArgumentException>(() => new DeviceList(bob.AccountId, 1, []));
        Assert.Throws<ArgumentException>(() => new DeviceList(bob.AccountId, 1, [Device(0, Day)]));
        Assert.Throws<ArgumentException>(() => new DeviceList(bob.AccountId, 1, [new DeviceEntry(1, Day, new byte[31])]));
    }

    [Fact]
    public void AKeyChangeAtTheSameId_IsReportedAsARemovalAndAnAddition()
    {
        using var bob = IdentityKeyPair.Generate();
        var first = new DeviceList(bob.AccountId, 1, [Device(1, Day), Device(2, Day)]);
        var relinked = new DeviceList(bob.AccountId, 2, [Device(1, Day), new DeviceEntry(2, Day, [.. Enumerable.Repeat((byte)9, 32)])]);
        var tracker = new DeviceListTracker(bob.PublicIdentity);
        tracker.Accept(first, bob.SignDeviceList(first));

        var change = tracker.Accept(relinked, bob.SignDeviceList(relinked));

        Assert.Equal([2u], change.Added.Select(d => d.DeviceId));
        Assert.Equal([2u], change.Removed.Select(d => d.DeviceId));
        Assert.Equal(3u, relinked.NextDeviceId());
    }

    [Fact]
    public void ADeviceKey_SignsInForItsOwnAccountAndDeviceOnly()
    {
        using var device = DeviceKeyPair.Generate();
        using var bob = IdentityKeyPair.Generate();
        var challenge = new byte[] { 1, 2, 3 };
        var signature = device.SignAuthChallenge(bob.AccountId, 2, challenge);

        Assert.True(DeviceKeyPair.VerifyAuthChallenge(device.PublicKey, bob.AccountId, 2, challenge, signature));
        Assert.False(DeviceKeyPair.VerifyAuthChallenge(device.PublicKey, bob.AccountId, 3, challenge, signature));
        Assert.False(DeviceKeyPair.VerifyAuthChallenge(device.PublicKey, bob.AccountId, 2, [1, 2, 4], signature));
        Assert.False(IdentitySignatures.VerifyAuthChallenge(device.PublicKey, bob.AccountId, challenge, signature));
        var seed = device.ExportPrivateKey();
        using var again = DeviceKeyPair.Import(seed);
        Assert.Equal(device.PublicKey, again.PublicKey);
    }
}
