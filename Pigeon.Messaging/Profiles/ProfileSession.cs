using Pigeon.Api;
using Pigeon.Messaging.Attachments;
using Pigeon.Messaging.Contacts;
using Pigeon.Messaging.Delivery;
using Pigeon.Messaging.Groups;
using Pigeon.Messaging.Prekeys;
using Pigeon.Messaging.Store;
using Pigeon.Messaging.Devices;
using Pigeon.Protocol.Delivery;
using Pigeon.Protocol.Devices;
using Pigeon.Protocol.Envelope;
using Pigeon.Protocol.Identity;
using Pigeon.Protocol.Prekeys;

namespace Pigeon.Messaging.Profiles;

/// <summary>
/// One opened and unlocked profile: its store, its identity and its way to the server, and the parts
/// that work on them (<see cref="Contacts"/>, <see cref="Outbox"/>, <see cref="Inbox"/>,
/// <see cref="Prekeys"/>). Every use of the store goes through one lock, so the parts may run at once
/// (a chat sends while its receive loop polls). <see cref="Lock"/> closes the store and forgets the
/// keys; a locked session refuses everything with <see cref="ProfileLockedException"/>.
/// </summary>
public sealed class ProfileSession : IDisposable
{
    private readonly SemaphoreSlim _storeLock = new(1, 1);
    private ProfileDatabase? _database;
    private IdentityKeyPair? _identity;
    private DeviceKeyPair? _deviceKey;
    private PigeonApiClient? _api;

    private ProfileSession(MessagingEnvironment environment, string directory, ProfileDatabase database, IdentityKeyPair identity, DeviceKeyPair deviceKey,
        ProfileRow profile)
    {
        Environment = environment;
        Directory = directory;
        _database = database;
        _identity = identity;
        _deviceKey = deviceKey;
        Profile = profile;
        Server = new Uri(profile.Server);
        _api = environment.ConnectApi(Server, deviceKey.Credentials(profile.AccountId, profile.DeviceId));
        Devices = new DeviceBook(this);
        Contacts = new ContactBook(this);
        Groups = new GroupBook(this);
        Outbox = new Outbox(this);
        Inbox = new Inbox(this);
        Prekeys = new PrekeyMaintenance(this);
        Attachments = new AttachmentBook(this);
    }

    /// <summary>This account's devices (list, link, remove) and the device lists of the accounts we write to.</summary>
    public DeviceBook Devices { get; }

    /// <summary>This device's address: the account and its device id.</summary>
    public DeviceAddress Address => new(Profile.AccountId, Profile.DeviceId);

    /// <summary>Files sent and received, and their transfers.</summary>
    public AttachmentBook Attachments { get; }

    /// <summary>The profile's folder (the database, and the <c>transfers</c> folder of attachments under way).</summary>
    internal string Directory { get; }

    /// <summary>The profile's public facts.</summary>
    public ProfileRow Profile { get; }

    /// <summary>The profile's server.</summary>
    public Uri Server { get; }

    /// <summary>Contacts and requests: invite, accept, decline, verify, history.</summary>
    public ContactBook Contacts { get; }

    /// <summary>Groups: create, change, leave, send, history.</summary>
    public GroupBook Groups { get; }

    /// <summary>What is sent: encrypted, committed, then deposited.</summary>
    public Outbox Outbox { get; }

    /// <summary>What arrives: received, decrypted, stored, then acknowledged.</summary>
    public Inbox Inbox { get; }

    /// <summary>The prekeys on the server, kept stocked and fresh.</summary>
    public PrekeyMaintenance Prekeys { get; }

    /// <summary>True once <see cref="Lock"/> (or <see cref="Dispose"/>) ran.</summary>
    public bool IsLocked => Volatile.Read(ref _database) is null;

    internal MessagingEnvironment Environment { get; }

    internal TimeProvider Time => Environment.Time;

    internal IdentityKeyPair Identity => _identity ?? throw new ProfileLockedException(LockedReason.SessionLocked);

    /// <summary>
    /// Opens the profile in <paramref name="directory"/> and unlocks it (<paramref name="passphrase"/>
    /// is asked only when the profile is encrypted), then deletes the messages whose disappearing
    /// timer ran out.
    /// </summary>
    public static ProfileSession Open(MessagingEnvironment environment, string directory, Func<string?> passphrase)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var database = ProfileDatabase.Open(directory, passphrase);
        IdentityKeyPair? identity = null;
        DeviceKeyPair? deviceKey = null;
        try
        {
            // Messages whose timer ran out while no pigeon was running go before anything is shown.
            database.InTransaction(() => database.Messages.DeleteExpired(environment.Time.GetUtcNow()));
            identity = database.Profile.LoadIdentity();
            deviceKey = database.Profile.LoadDeviceKey();
            return new ProfileSession(environment, directory, database, identity, deviceKey, database.Profile.Read());
        }
        catch
        {
            identity?.Dispose();
            deviceKey?.Dispose();
            database.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Creates an identity, the first device's key, prekeys and a delivery key, registers them (the
    /// delivery key as its verifier), publishes the device list (device 1) and the prekeys, and only then
    /// writes the new profile, so a failure leaves nothing behind.
    /// Its store key is protected by <paramref name="passphrase"/>; null (or empty) makes a plaintext
    /// profile, whose key lies in the file next to what it seals.
    /// </summary>
    public static async Task<ProfileRow> CreateAsync(MessagingEnvironment environment, string directory, Uri server, string displayName,
        string? passphrase, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(environment);
        if (ProfileDatabase.Exists(directory))
        {
            throw new ProfileExistsException(directory);
        }

        var now = environment.Time.GetUtcNow();
        using var identity = IdentityKeyPair.Generate();
        using var deviceKey = DeviceKeyPair.Generate();
        var deliveryKey = DeliveryKey.Generate(1);
        var devices = new DeviceList(identity.AccountId, 1, [new DeviceEntry(DeviceAddress.PrimaryDeviceId, now, deviceKey.PublicKey)]);
        using (var api = environment.ConnectApi(server, identity.Credentials()))
        {
            // Until the account has a device list, its device 1 signs in with the identity key.
            await ServerCalls.RunAsync(server, async () =>
            {
                await api.RegisterAsync(identity.PublicIdentity.Registration(), ct);
                await api.SetDeviceListAsync(devices.ToRecord(identity.SignDeviceList(devices)), ct);
            });
        }

        return await CreateDeviceAsync(environment, directory, server, displayName, passphrase, identity, DeviceAddress.PrimaryDeviceId, deviceKey,
            deliveryKey, database =>
            {
                database.DeviceLists.Save(devices, identity.SignDeviceList(devices));
                database.DeliveryKeys.Save(identity.AccountId, deliveryKey);
            }, ct);
    }

    /// <summary>
    /// The part of making a profile that every device does, the first and a linked one: publishes this
    /// device's prekeys (signing in with its own key, which the account's list already names), sets the
    /// delivery key's verifier when it is the first device's, then writes the profile with
    /// <paramref name="initialise"/>'s rows, so a failure leaves nothing behind.
    /// </summary>
    internal static async Task<ProfileRow> CreateDeviceAsync(MessagingEnvironment environment, string directory, Uri server, string displayName,
        string? passphrase, IdentityKeyPair identity, uint deviceId, DeviceKeyPair deviceKey, DeliveryKey? newDeliveryKey,
        Action<ProfileDatabase> initialise, CancellationToken ct)
    {
        var now = environment.Time.GetUtcNow();
        var prekeys = new PrekeyStore();
        var upload = new UploadPrekeysRequest(
            prekeys.RotateSignedPrekey(identity, now).ToDto(),
            prekeys.RotateLastResortMlKemPrekey(identity, now).ToDto(),
            [.. prekeys.GenerateOneTimePrekeys(PrekeyPolicy.Target).Select(p => p.ToDto())],
            [.. prekeys.GenerateMlKemPrekeys(identity, PrekeyPolicy.Target).Select(p => p.ToDto())]);
        using (var api = environment.ConnectApi(server, deviceKey.Credentials(identity.AccountId, deviceId)))
        {
            await ServerCalls.RunAsync(server, async () =>
            {
                await api.UploadPrekeysAsync(upload, ct);
                if (newDeliveryKey is not null)
                {
                    await api.SetDeliveryKeyVerifierAsync(newDeliveryKey.Epoch, newDeliveryKey.Verifier(identity.AccountId), ct);
                }
            });
        }

        var database = ProfileDatabase.Create(directory, string.IsNullOrEmpty(passphrase) ? null : passphrase, environment.KdfParameters);
        try
        {
            using (database)
            {
                database.InTransaction(() =>
                {
                    database.Profile.Insert(server.ToString(), displayName, identity, deviceId, deviceKey, now);
                    database.Prekeys.Save(prekeys);
                    initialise(database);
                });
                return database.Profile.Read();
            }
        }
        catch
        {
            File.Delete(Path.Combine(directory, ProfileDatabase.FileName));
            throw;
        }
    }

    /// <summary>The profile's settings; a setting never changed has its default.</summary>
    public Task<ProfileSettings> GetSettingsAsync() => WithStoreAsync(database => new ProfileSettings(
        database.Settings.Get(ProfileSettings.ReadReceiptsName) != "off",
        database.Settings.Get(ProfileSettings.TypingIndicatorsName) != "off",
        long.TryParse(database.Settings.Get(ProfileSettings.AutoDownloadName), System.Globalization.CultureInfo.InvariantCulture, out var bytes) && bytes >= 0
            ? bytes : ProfileSettings.DefaultAutoDownloadBytes));

    /// <summary>Stores <paramref name="settings"/>; what is sent from now on follows them.</summary>
    public Task SaveSettingsAsync(ProfileSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return WithStoreAsync(database => database.InTransaction(() =>
        {
            database.Settings.Set(ProfileSettings.ReadReceiptsName, settings.ReadReceipts ? "on" : "off");
            database.Settings.Set(ProfileSettings.TypingIndicatorsName, settings.TypingIndicators ? "on" : "off");
            database.Settings.Set(ProfileSettings.AutoDownloadName, Math.Max(0, settings.AutoDownloadBytes).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }));
    }

    /// <summary>
    /// Between polls: tops up and rotates the prekeys on the server (<see cref="PrekeyMaintenance"/>),
    /// forgets the ids of envelopes processed long ago, prunes what strangers left
    /// (<see cref="ContactBook.PruneStrangersAsync"/>), deletes the messages whose timer ran out and
    /// the files that came with them.
    /// </summary>
    public async Task<UploadPrekeysRequest?> MaintainAsync(CancellationToken ct)
    {
        var upload = await Prekeys.MaintainAsync(ct);
        await Inbox.ForgetOldProcessedIdsAsync();
        await Contacts.PruneStrangersAsync();
        await DeleteExpiredMessagesAsync();
        await Attachments.PruneAsync();
        return upload;
    }

    /// <summary>Deletes (overwriting them) the messages whose disappearing timer ran out; returns how many.</summary>
    public Task<int> DeleteExpiredMessagesAsync() =>
        WithStoreAsync(database => database.InTransaction(() => database.Messages.DeleteExpired(Time.GetUtcNow())));

    /// <summary>
    /// Seals the whole profile again under a new store key protected by <paramref name="passphrase"/>
    /// (null: none, a plaintext profile), in one transaction: a failure or a crash part-way leaves the
    /// old passphrase working.
    /// </summary>
    public Task ChangePassphraseAsync(string? passphrase) =>
        WithStoreAsync(database => database.ChangePassphrase(string.IsNullOrEmpty(passphrase) ? null : passphrase, Environment.KdfParameters));

    /// <summary>
    /// Closes the store and forgets the private keys, the token and the process's passphrase keys, once
    /// no use of the store is under way; everything after refuses with <see cref="ProfileLockedException"/>.
    /// Open the profile again (with its passphrase) to go on.
    /// </summary>
    public void Lock()
    {
        Close();
        StoreKeyProtection.ForgetAll();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (!IsLocked)
        {
            Close();
        }

        _storeLock.Dispose();
    }

    private void Close()
    {
        _storeLock.Wait();
        try
        {
            _api?.Dispose();
            _identity?.Dispose();
            _deviceKey?.Dispose();
            _database?.Dispose();
            _api = null;
            _identity = null;
            _deviceKey = null;
            Volatile.Write(ref _database, null);
        }
        finally
        {
            _storeLock.Release();
        }
    }

    /// <summary>Runs <paramref name="work"/> on the store, alone.</summary>
    internal async Task<T> WithStoreAsync<T>(Func<ProfileDatabase, T> work)
    {
        await _storeLock.WaitAsync();
        try
        {
            return work(_database ?? throw new ProfileLockedException(LockedReason.SessionLocked));
        }
        finally
        {
            _storeLock.Release();
        }
    }

    /// <inheritdoc cref="WithStoreAsync{T}(Func{ProfileDatabase, T})"/>
    internal Task WithStoreAsync(Action<ProfileDatabase> work) => WithStoreAsync(database =>
    {
        work(database);
        return true;
    });

    /// <summary>Calls the server as this profile; failures become <see cref="ServerUnreachableException"/> or <see cref="ServerRefusedException"/>.</summary>
    internal Task<T> CallServerAsync<T>(Func<PigeonApiClient, Task<T>> call, string? accountId = null) =>
        ServerCalls.RunAsync(Server, () => call(_api ?? throw new ProfileLockedException(LockedReason.SessionLocked)), accountId);

    /// <inheritdoc cref="CallServerAsync{T}(Func{PigeonApiClient, Task{T}}, string?)"/>
    internal Task CallServerAsync(Func<PigeonApiClient, Task> call, string? accountId = null) => CallServerAsync(async api =>
    {
        await call(api);
        return true;
    }, accountId);
}
