using System.Security.Cryptography;
using Pigeon.Grains.Abstractions.Accounts;
using Pigeon.Grains.Abstractions.Mailboxes;
using Pigeon.Protocol.Delivery;
using Pigeon.Protocol.Identity;
using ProtocolPrekeyKind = Pigeon.Protocol.Prekeys.PrekeyKind;

namespace Pigeon.Tests.Grains;

[Collection(PigeonClusterCollection.Name)]
public sealed class AccountGrainTests(PigeonClusterFixture fixture)
{
    /// <summary>A fresh identity and the account grain of its id, not registered yet.</summary>
    private (IAccountGrain Grain, IdentityKeyPair Identity) NewAccount()
    {
        fixture.RequirePostgres();
        var identity = IdentityKeyPair.Generate();
        return (fixture.Grains.GetGrain<IAccountGrain>(identity.AccountId), identity);
    }

    private static IdentityKeys KeysOf(IdentityKeyPair identity) =>
        new(identity.PublicIdentity.SigningKey, identity.PublicIdentity.AgreementKey, identity.PublicIdentity.AgreementKeySignature);

    private static Prekey RandomPrekey(uint id, int size = 32, bool signed = false) =>
        new(id, RandomNumberGenerator.GetBytes(size), signed ? RandomNumberGenerator.GetBytes(64) : null);

    private static Prekey SignedPrekey(IdentityKeyPair identity, ProtocolPrekeyKind kind, uint id, int size)
    {
        var publicKey = RandomNumberGenerator.GetBytes(size);
        return new Prekey(id, publicKey, identity.SignPrekey(kind, id, publicKey));
    }

    private static PrekeyUpload FullUpload(IdentityKeyPair identity, int oneTimeCount, uint firstId = 1) => new(
        SignedPrekey(identity, ProtocolPrekeyKind.SignedX25519, 1000, 32),
        SignedPrekey(identity, ProtocolPrekeyKind.MlKem1024LastResort, 2000, 1568),
        [.. Enumerable.Range(0, oneTimeCount).Select(i => RandomPrekey(firstId + (uint)i))],
        [.. Enumerable.Range(0, oneTimeCount).Select(i => SignedPrekey(identity, ProtocolPrekeyKind.MlKem1024, firstId + (uint)i, 1568))]);

    [Fact]
    public async Task Account_RegisteringSameKeysAgain_IsIdempotent()
    {
        var (account, identity) = NewAccount();
        var keys = KeysOf(identity);

        var first = await account.RegisterAsync(keys);
        var again = await account.RegisterAsync(keys with { SigningKey = [.. keys.SigningKey] });

        Assert.False(first.AlreadyRegistered);
        Assert.True(again.AlreadyRegistered);
        Assert.Equal(first.RegisteredAt, again.RegisteredAt);
    }

    [Fact]
    public async Task Account_RegisteringOtherKeysForExistingId_IsRefused()
    {
        var (account, identity) = NewAccount();
        var keys = KeysOf(identity);
        await account.RegisterAsync(keys);
        using var other = IdentityKeyPair.Generate();

        await Assert.ThrowsAsync<AccountConflictException>(() => account.RegisterAsync(KeysOf(other)));

        var stored = await account.GetIdentityAsync();
        Assert.NotNull(stored);
        Assert.True(stored.SameAs(keys));
    }

    [Fact]
    public async Task Account_IdentityAndPrekeys_SurviveReactivation()
    {
        var (_, identity) = NewAccount();
        var id = identity.AccountId;
        var keys = KeysOf(identity);
        await fixture.Grains.GetGrain<IAccountGrain>(id).RegisterAsync(keys);
        await fixture.Grains.GetGrain<IAccountGrain>(id).UploadPrekeysAsync(1, FullUpload(identity, 3));

        await fixture.Grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero, TestContext.Current.CancellationToken);
        var account = fixture.Grains.GetGrain<IAccountGrain>(id);

        Assert.True((await account.GetIdentityAsync())!.SameAs(keys));
        Assert.Equal(new PrekeyCounts(3, 3, true, true, 1, 1), await account.CountPrekeysAsync(1));
    }

    [Fact]
    public async Task Account_UnregisteredAccount_HasNoBundleAndTakesNoPrekeys()
    {
        var (account, identity) = NewAccount();

        await Assert.ThrowsAsync<AccountNotFoundException>(() => account.FetchBundleAsync(1));
        await Assert.ThrowsAsync<AccountNotFoundException>(() => account.UploadPrekeysAsync(1, FullUpload(identity, 1)));
        Assert.Null(await account.GetIdentityAsync());
    }

    [Fact]
    public async Task Account_BundleWithoutSignedPrekeys_IsUnavailable()
    {
        var (account, identity) = NewAccount();
        await account.RegisterAsync(KeysOf(identity));

        await Assert.ThrowsAsync<PrekeysUnavailableException>(() => account.FetchBundleAsync(1));
    }

    [Fact]
    public async Task Account_Bundle_ConsumesOneTimePrekeysThenFallsBackToLastResort()
    {
        var (account, signer) = NewAccount();
        var identity = KeysOf(signer);
        await account.RegisterAsync(identity);
        var upload = FullUpload(signer, 2);
        Assert.Equal(new PrekeyCounts(2, 2, true, true, 1, 1), await account.UploadPrekeysAsync(1, upload));

        var first = await account.FetchBundleAsync(1);
        var second = await account.FetchBundleAsync(1);
        var third = await account.FetchBundleAsync(1);

        Assert.True(first.Identity.SameAs(identity));
        Assert.Equal(upload.SignedPrekey!.PublicKey, first.SignedPrekey.PublicKey);
        Assert.Equal([1u, 2u], new[] { first.OneTimeX25519Prekey!.Id, second.OneTimeX25519Prekey!.Id });
        Assert.False(first.KemPrekeyIsLastResort);
        Assert.Equal(upload.OneTimeKemPrekeys[0].PublicKey, first.KemPrekey.PublicKey);
        Assert.Null(third.OneTimeX25519Prekey);
        Assert.True(third.KemPrekeyIsLastResort);
        Assert.Equal(upload.LastResortKemPrekey!.PublicKey, third.KemPrekey.PublicKey);
        Assert.Equal(new PrekeyCounts(0, 0, true, true), await account.CountPrekeysAsync(1));
    }

    [Fact]
    public async Task Account_RegisteringKeysThatDoNotProveTheId_IsRefusedAndStoresNothing()
    {
        var (account, identity) = NewAccount();
        using var other = IdentityKeyPair.Generate();
        var keys = KeysOf(identity);
        var badSignature = keys with { AgreementKeySignature = [.. keys.AgreementKeySignature.Select((b, i) => i == 0 ? (byte)(b ^ 1) : b)] };

        // Another identity's keys under this id, and this id's keys with a signature that does not verify.
        await Assert.ThrowsAsync<KeyMismatchException>(() => account.RegisterAsync(KeysOf(other)));
        await Assert.ThrowsAsync<KeyMismatchException>(() => account.RegisterAsync(badSignature));

        Assert.Null(await account.GetIdentityAsync());
        Assert.False((await account.RegisterAsync(keys)).AlreadyRegistered);
    }

    public static TheoryData<string> BadlySignedUploads() =>
        ["signed prekey signed by another identity", "last-resort prekey signed as a one-time one", "one-time ML-KEM prekey under another id",
         "signed prekey with its key altered"];

    [Theory]
    [MemberData(nameof(BadlySignedUploads))]
    public async Task Account_PrekeyWithABadSignature_IsRefusedWholeAndChangesNothing(string name)
    {
        var (account, identity) = NewAccount();
        await account.RegisterAsync(KeysOf(identity));
        var before = FullUpload(identity, 1);
        await account.UploadPrekeysAsync(1, before);
        using var impostor = IdentityKeyPair.Generate();
        var upload = FullUpload(identity, 2, firstId: 10);
        var kem = upload.OneTimeKemPrekeys[1];
        var bad = name switch
        {
            "signed prekey signed by another identity" => upload with { SignedPrekey = SignedPrekey(impostor, ProtocolPrekeyKind.SignedX25519, 1001, 32) },
            "last-resort prekey signed as a one-time one" => upload with { LastResortKemPrekey = SignedPrekey(identity, ProtocolPrekeyKind.MlKem1024, 2001, 1568) },
            "one-time ML-KEM prekey under another id" => upload with { OneTimeKemPrekeys = [upload.OneTimeKemPrekeys[0], kem with { Id = kem.Id + 100 }] },
            "signed prekey with its key altered" => upload with { SignedPrekey = upload.SignedPrekey! with { PublicKey = RandomNumberGenerator.GetBytes(32) } },
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };

        await Assert.ThrowsAsync<KeyMismatchException>(() => account.UploadPrekeysAsync(1, bad));

        Assert.Equal(new PrekeyCounts(1, 1, true, true, 1, 1), await account.CountPrekeysAsync(1));
        var bundle = await account.FetchBundleAsync(1);
        Assert.Equal(before.SignedPrekey!.PublicKey, bundle.SignedPrekey.PublicKey);
        Assert.Equal(before.OneTimeKemPrekeys[0].PublicKey, bundle.KemPrekey.PublicKey);
    }

    public static TheoryData<string> MalformedUploads() =>
        ["null one-time X25519 prekey", "null one-time ML-KEM prekey", "short one-time ML-KEM key", "unsigned one-time ML-KEM prekey",
         "signed one-time X25519 prekey", "short signed prekey", "unsigned last-resort prekey", "null public key", "repeated one-time id",
         "null one-time list"];

    private static PrekeyUpload Malformed(string name, IdentityKeyPair identity)
    {
        var upload = FullUpload(identity, 2, firstId: 10);
        IReadOnlyList<Prekey> With(IReadOnlyList<Prekey> keys, Prekey bad) => [.. keys, bad];
        return name switch
        {
            "null one-time X25519 prekey" => upload with { OneTimeX25519Prekeys = With(upload.OneTimeX25519Prekeys, null!) },
            "null one-time ML-KEM prekey" => upload with { OneTimeKemPrekeys = With(upload.OneTimeKemPrekeys, null!) },
            "short one-time ML-KEM key" => upload with { OneTimeKemPrekeys = With(upload.OneTimeKemPrekeys, RandomPrekey(99, 32, signed: true)) },
            "unsigned one-time ML-KEM prekey" => upload with { OneTimeKemPrekeys = With(upload.OneTimeKemPrekeys, RandomPrekey(99, 1568)) },
            "signed one-time X25519 prekey" => upload with { OneTimeX25519Prekeys = With(upload.OneTimeX25519Prekeys, RandomPrekey(99, signed: true)) },
            "short signed prekey" => upload with { SignedPrekey = RandomPrekey(7, 31, signed: true) },
            "unsigned last-resort prekey" => upload with { LastResortKemPrekey = RandomPrekey(8, 1568) },
            "null public key" => upload with { OneTimeX25519Prekeys = With(upload.OneTimeX25519Prekeys, new Prekey(99, null!, null)) },
            "repeated one-time id" => upload with { OneTimeX25519Prekeys = With(upload.OneTimeX25519Prekeys, RandomPrekey(10)) },
            "null one-time list" => upload with { OneTimeKemPrekeys = null! },
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };
    }

    [Theory]
    [MemberData(nameof(MalformedUploads))]
    public async Task Account_MalformedUpload_IsRefusedWholeAndChangesNothing(string name)
    {
        var (account, identity) = NewAccount();
        await account.RegisterAsync(KeysOf(identity));
        var before = FullUpload(identity, 1);
        await account.UploadPrekeysAsync(1, before);

        await Assert.ThrowsAsync<ArgumentException>(() => account.UploadPrekeysAsync(1, Malformed(name, identity)));

        Assert.Equal(new PrekeyCounts(1, 1, true, true, 1, 1), await account.CountPrekeysAsync(1));
        var bundle = await account.FetchBundleAsync(1);
        Assert.Equal(before.SignedPrekey!.PublicKey, bundle.SignedPrekey.PublicKey);
        Assert.Equal(before.OneTimeX25519Prekeys[0].PublicKey, bundle.OneTimeX25519Prekey!.PublicKey);
    }

    [Fact]
    public async Task Account_UploadPastPoolLimit_IsRefusedAndStoresNothing()
    {
        var (account, identity) = NewAccount();
        await account.RegisterAsync(KeysOf(identity));

        var refused = await Assert.ThrowsAsync<PrekeyPoolFullException>(() => account.UploadPrekeysAsync(1, FullUpload(identity, 501)));

        Assert.Equal(OneTimePrekeyKind.X25519, refused.Kind);
        Assert.Equal(new PrekeyCounts(0, 0, false, false), await account.CountPrekeysAsync(1));
    }

    [Fact]
    public async Task Account_OneHundredConcurrentFetches_NeverHandOutAPrekeyTwice()
    {
        var (account, identity) = NewAccount();
        await account.RegisterAsync(KeysOf(identity));
        await account.UploadPrekeysAsync(1, FullUpload(identity, 60));

        var bundles = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => account.FetchBundleAsync(1)));

        var x25519 = bundles.Where(b => b.OneTimeX25519Prekey is not null).Select(b => b.OneTimeX25519Prekey!.Id).ToList();
        var kem = bundles.Where(b => !b.KemPrekeyIsLastResort).Select(b => b.KemPrekey.Id).ToList();
        Assert.Equal(60, x25519.Count);
        Assert.Equal(60, x25519.Distinct().Count());
        Assert.Equal(60, kem.Count);
        Assert.Equal(60, kem.Distinct().Count());
        Assert.Equal(40, bundles.Count(b => b.KemPrekeyIsLastResort));
        Assert.Equal(new PrekeyCounts(0, 0, true, true), await account.CountPrekeysAsync(1));
    }

    [Fact]
    public async Task Account_PastItsHourlyHandouts_GivesBundlesWithoutOneTimePrekeys_AndKeepsThePool()
    {
        var (account, identity) = NewAccount();
        await account.RegisterAsync(KeysOf(identity));
        await account.UploadPrekeysAsync(1, FullUpload(identity, 70));
        var limit = new Pigeon.Grains.Accounts.AccountOptions().MaxOneTimePrekeyHandoutsPerHour;

        for (var i = 0; i < limit; i++)
        {
            Assert.NotNull((await account.FetchBundleAsync(1)).OneTimeX25519Prekey);
        }

        var limited = await account.FetchBundleAsync(1);
        Assert.Null(limited.OneTimeX25519Prekey);
        Assert.True(limited.KemPrekeyIsLastResort);
        Assert.Equal(new PrekeyCounts(70 - limit, 70 - limit, true, true, (uint)limit + 1, (uint)limit + 1), await account.CountPrekeysAsync(1));

        fixture.Clock.Advance(TimeSpan.FromHours(1));
        var later = await account.FetchBundleAsync(1);
        Assert.NotNull(later.OneTimeX25519Prekey);
        Assert.False(later.KemPrekeyIsLastResort);
        Assert.Equal(new PrekeyCounts(69 - limit, 69 - limit, true, true, (uint)limit + 2, (uint)limit + 2), await account.CountPrekeysAsync(1));
    }

    [Fact]
    public async Task Account_DeliveryKey_IsAcceptedOnlyWhileCurrent_AndOnlyItsVerifierIsStored()
    {
        var (account, identity) = NewAccount();
        var id = identity.AccountId;
        await account.RegisterAsync(KeysOf(identity));
        var first = DeliveryKey.Generate(1);
        var second = first.Rotate();

        Assert.False(await account.AcceptsDeliveryKeyAsync(first.ToBytes()));
        await account.SetDeliveryKeyVerifierAsync(first.Epoch, first.Verifier(id));
        Assert.True(await account.AcceptsDeliveryKeyAsync(first.ToBytes()));
        Assert.False(await account.AcceptsDeliveryKeyAsync(second.ToBytes()));
        Assert.False(await account.AcceptsDeliveryKeyAsync(first.ToBytes()[..35]));
        Assert.False(await account.AcceptsDeliveryKeyAsync([.. first.ToBytes(), 0]));
        // The right secret under another epoch is not the current key.
        var otherEpoch = first.ToBytes();
        otherEpoch[3] ^= 2;
        Assert.False(await account.AcceptsDeliveryKeyAsync(otherEpoch));

        await account.SetDeliveryKeyVerifierAsync(second.Epoch, second.Verifier(id));
        await fixture.Grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero, TestContext.Current.CancellationToken);
        account = fixture.Grains.GetGrain<IAccountGrain>(id);

        Assert.False(await account.AcceptsDeliveryKeyAsync(first.ToBytes()));
        Assert.True(await account.AcceptsDeliveryKeyAsync(second.ToBytes()));
        // Whatever the storage serializer writes, neither secret appears in it, raw or as base64.
        await using var command = fixture.DataSource.CreateCommand("SELECT payloadbinary FROM orleansstorage WHERE payloadbinary IS NOT NULL");
        await using var reader = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        var rows = 0;
        while (await reader.ReadAsync(TestContext.Current.CancellationToken))
        {
            var stored = reader.GetFieldValue<byte[]>(0);
            rows++;
            foreach (var key in new[] { first.Key.ToArray(), second.Key.ToArray() })
            {
                Assert.Equal(-1, stored.AsSpan().IndexOf(key));
                Assert.Equal(-1, stored.AsSpan().IndexOf(System.Text.Encoding.ASCII.GetBytes(Convert.ToBase64String(key))));
            }
        }

        Assert.True(rows > 0, "no grain state was read");
    }

    [Fact]
    public async Task Account_DeliveryKey_OfAnUnregisteredAccount_IsRefusedLikeAWrongOne()
    {
        var (account, identity) = NewAccount();
        var key = DeliveryKey.Generate(0);

        Assert.False(await account.AcceptsDeliveryKeyAsync(key.ToBytes()));
        await Assert.ThrowsAsync<AccountNotFoundException>(() => account.SetDeliveryKeyVerifierAsync(key.Epoch, key.Verifier(identity.AccountId)));
    }

    [Fact]
    public async Task Account_DeliveryKeyVerifier_OfTheWrongSize_IsRefusedAndTheCurrentKeyStays()
    {
        var (account, identity) = NewAccount();
        await account.RegisterAsync(KeysOf(identity));
        var key = DeliveryKey.Generate(1);
        await account.SetDeliveryKeyVerifierAsync(key.Epoch, key.Verifier(identity.AccountId));

        await Assert.ThrowsAsync<ArgumentException>(() => account.SetDeliveryKeyVerifierAsync(2, RandomNumberGenerator.GetBytes(16)));

        Assert.True(await account.AcceptsDeliveryKeyAsync(key.ToBytes()));
    }

    [Fact]
    public async Task Account_IdentifiedRoute_AllowsSoManyNewRecipientsPerHour_AndRefusesABatchPastItWhole()
    {
        var (account, _) = NewAccount();
        var limit = new Pigeon.Grains.Accounts.AccountOptions().MaxNewRecipientsPerHour;
        var recipients = Enumerable.Range(0, limit + 1).Select(i => $"recipient-{i}").ToList();

        await account.NoteIdentifiedRecipientsAsync(1, recipients[..(limit - 1)]);
        var refused = await Assert.ThrowsAsync<NewRecipientLimitException>(() => account.NoteIdentifiedRecipientsAsync(1, recipients[(limit - 1)..]));
        Assert.Equal(limit, refused.Limit);
        Assert.InRange(refused.RetryAfter, TimeSpan.FromMinutes(59), TimeSpan.FromHours(1));

        await account.NoteIdentifiedRecipientsAsync(1, [recipients[limit - 1], recipients[0], recipients[1]]);
        await Assert.ThrowsAsync<NewRecipientLimitException>(() => account.NoteIdentifiedRecipientsAsync(1, [recipients[limit]]));
        fixture.Clock.Advance(TimeSpan.FromHours(1));
        await account.NoteIdentifiedRecipientsAsync(1, [recipients[limit]]);
    }

    private static SignedDeviceList SignedList(IdentityKeyPair identity, ulong version, params uint[] ids)
    {
        var list = new Pigeon.Protocol.Devices.DeviceList(identity.AccountId, version,
            ids.Select(id => new Pigeon.Protocol.Devices.DeviceEntry(id, new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero), RandomNumberGenerator.GetBytes(32))));
        return new SignedDeviceList(list.Version, [.. list.Devices.Select(d => new DeviceSlot(d.DeviceId, d.AddedAt, d.SigningKey))], identity.SignDeviceList(list));
    }

    [Fact]
    public async Task Devices_HaveTheirOwnPools_AndARemovedOneLosesThem_ForGood_AcrossReactivation()
    {
        var (account, identity) = NewAccount();
        await account.RegisterAsync(KeysOf(identity));
        // Before a list, device 1 alone.
        await Assert.ThrowsAsync<DeviceRemovedException>(() => account.UploadPrekeysAsync(2, FullUpload(identity, 1)));
        await account.SetDeviceListAsync(SignedList(identity, 1, 1, 2));
        await account.UploadPrekeysAsync(1, FullUpload(identity, 2));
        // The same key ids again, in another device's pool.
        await account.UploadPrekeysAsync(2, FullUpload(identity, 4));
        var bundle = await account.FetchBundleAsync(2);

        Assert.Equal(new PrekeyCounts(2, 2, true, true, 1, 1), await account.CountPrekeysAsync(1));
        Assert.Equal(new PrekeyCounts(3, 3, true, true, 2, 2), await account.CountPrekeysAsync(2));
        Assert.Equal(1u, bundle.OneTimeX25519Prekey!.Id);

        await account.SetDeviceListAsync(SignedList(identity, 2, 1, 3));
        await fixture.Grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero, TestContext.Current.CancellationToken);
        account = fixture.Grains.GetGrain<IAccountGrain>(identity.AccountId);

        Assert.Equal(new PrekeyCounts(0, 0, false, false), await account.CountPrekeysAsync(2));
        Assert.Equal(new PrekeyCounts(2, 2, true, true, 1, 1), await account.CountPrekeysAsync(1));
        await Assert.ThrowsAsync<PrekeysUnavailableException>(() => account.FetchBundleAsync(2));
        await Assert.ThrowsAsync<DeviceRemovedException>(() => account.EnsureDeviceActiveAsync(2));
        await Assert.ThrowsAsync<DeviceRemovedException>(() => account.UploadPrekeysAsync(2, FullUpload(identity, 1)));
        await Assert.ThrowsAsync<ArgumentException>(() => account.SetDeviceListAsync(SignedList(identity, 3, 1, 2, 3)));
        await account.EnsureDeviceActiveAsync(3);
        Assert.Equal(DeviceStanding.Removed, (await account.GetDeviceSignInAsync(2))!.Standing);
        Assert.Equal(DeviceStanding.Unknown, (await account.GetDeviceSignInAsync(4))!.Standing);
        Assert.NotNull((await account.GetDeviceSignInAsync(3))!.SigningKey);
    }

    [Fact]
    public async Task ADepositThatLandsAfterARemovedDevicesPurge_IsSweptAwaySoonAfter()
    {
        var (account, identity) = NewAccount();
        await account.RegisterAsync(KeysOf(identity));
        await account.SetDeviceListAsync(SignedList(identity, 1, 1, 2));
        await account.SetDeviceListAsync(SignedList(identity, 2, 1));
        // A deposit that passed the device check just before the removal lands after the purge.
        var mailbox = fixture.Grains.GetGrain<IMailboxGrain>(MailboxKeys.Of(identity.AccountId, 2));
        await mailbox.DepositAsync(Guid.NewGuid(), [1, 2, 3]);
        Assert.Equal(1L, (await mailbox.GetStatusAsync()).Envelopes);

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while ((await mailbox.GetStatusAsync()).Envelopes > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        Assert.Equal(0L, (await mailbox.GetStatusAsync()).Envelopes);
    }

    [Fact]
    public async Task CheckDevices_NamesMissingExtraAndStale_AndLeavesOutTheSendingDevice()
    {
        var (account, identity) = NewAccount();
        await account.RegisterAsync(KeysOf(identity));

        Assert.True((await account.CheckDevicesAsync([1], null)).Matches);
        Assert.Equal([2u], (await account.CheckDevicesAsync([1, 2], null)).Extra);

        await account.SetDeviceListAsync(SignedList(identity, 1, 1, 2, 3));
        await account.SetDeviceListAsync(SignedList(identity, 2, 1, 2, 4));
        var check = await account.CheckDevicesAsync([1, 3, 5, 3], null);
        var own = await account.CheckDevicesAsync([2, 4], exceptDevice: 1);
        var ownToItself = await account.CheckDevicesAsync([1, 2, 4], exceptDevice: 1);
        var ownMissing = await account.CheckDevicesAsync([4], exceptDevice: 1);

        Assert.Equal([2u, 4u], check.Missing);
        Assert.Equal([5u], check.Extra);
        Assert.Equal([3u], check.Stale);
        Assert.True(own.Matches);
        Assert.True(ownToItself.Matches);
        Assert.Equal([2u], ownMissing.Missing);
        // An account never registered is one without a list: device 1.
        Assert.True((await NewAccount().Grain.CheckDevicesAsync([1], null)).Matches);
    }

    [Fact]
    public async Task TheHandoutLimit_IsPerDevice()
    {
        var (account, identity) = NewAccount();
        await account.RegisterAsync(KeysOf(identity));
        await account.SetDeviceListAsync(SignedList(identity, 1, 1, 2));
        var limit = new Pigeon.Grains.Accounts.AccountOptions().MaxOneTimePrekeyHandoutsPerHour;
        await account.UploadPrekeysAsync(1, FullUpload(identity, limit + 1));
        await account.UploadPrekeysAsync(2, FullUpload(identity, 1));

        for (var i = 0; i < limit; i++)
        {
            Assert.NotNull((await account.FetchBundleAsync(1)).OneTimeX25519Prekey);
        }

        Assert.Null((await account.FetchBundleAsync(1)).OneTimeX25519Prekey);
        Assert.NotNull((await account.FetchBundleAsync(2)).OneTimeX25519Prekey);
    }
}
