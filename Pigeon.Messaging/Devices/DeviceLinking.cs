using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Pigeon.Api;
using Pigeon.Messaging.Profiles;
using Pigeon.Messaging.Store;
using Pigeon.Protocol;
using Pigeon.Protocol.Delivery;
using Pigeon.Protocol.Devices;
using Pigeon.Protocol.Identity;

namespace Pigeon.Messaging.Devices;

/// <summary>A link code was refused: not a code, expired, already used, or not for this account's devices.</summary>
public sealed class LinkRefusedException(string message, Exception? inner = null) : MessagingException(message, inner);

/// <summary>What the existing device linked.</summary>
/// <param name="DeviceId">The new device's id.</param>
/// <param name="Fingerprint">The code's fingerprint, which the new device shows too.</param>
public sealed record LinkedDevice(uint DeviceId, string Fingerprint);

/// <summary>
/// Linking a device (issue 16): the new device makes a provisioning slot on the server and shows a
/// <see cref="LinkCode"/>; an existing device puts the new one on the signed device list and sends it
/// the account (identity, name, own delivery key, contacts with their verified state and delivery
/// keys, groups, settings), encrypted to the code's key, through the slot, once. History from before
/// the link is not sent: the new device starts with the conversations, not their messages.
/// </summary>
public static class DeviceLinking
{
    /// <summary>
    /// The existing device's side (<c>pigeon devices add CODE</c>). The new list is stored first and
    /// taken back when the slot refuses the account (expired, used) or cannot be reached, so nothing
    /// half-linked stays. The new device gets the next id above every id this device has seen, or,
    /// when the server says that one was given out already, the id above the list's version.
    /// </summary>
    public static async Task<LinkedDevice> AddAsync(ProfileSession session, string codeText, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(session);
        LinkCode code;
        try
        {
            code = LinkCode.Parse(codeText);
        }
        catch (FormatException exception)
        {
            throw new LinkRefusedException(exception.Message, exception);
        }

        await session.Devices.RefreshAsync(session.Profile.AccountId, ct);
        var list = await session.Devices.OwnListAsync();
        if (list.Devices.Any(d => d.SigningKey.AsSpan().SequenceEqual(code.DeviceSigningKey)))
        {
            throw new LinkRefusedException("That device is already linked to this account.");
        }

        var deviceId = Math.Max(await session.Devices.HighestOwnDeviceIdAsync(), list.NextDeviceId() - 1) + 1;
        var (linked, payload) = await PrepareAsync(session, list, code, deviceId);
        try
        {
            await session.Devices.PublishAsync(linked, ct);
        }
        catch (ServerRefusedException refused) when (refused.Problem.Status == HttpStatusCode.BadRequest && deviceId <= list.Version)
        {
            // The id was given out and removed by other devices of the account, in lists this one never
            // accepted. Every publish raises the version by one and adds at most one device, so no id
            // above the version was ever given out.
            deviceId = checked((uint)(list.Version + 1));
            (linked, payload) = await PrepareAsync(session, list, code, deviceId);
            await session.Devices.PublishAsync(linked, ct);
        }

        try
        {
            await session.CallServerAsync(api => api.SendProvisioningAsync(code.SlotId, payload, ct));
        }
        catch (ServerRefusedException refused) when (refused.Problem.Status is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
        {
            await session.Devices.PublishAsync((await session.Devices.OwnListAsync()).Without(deviceId), ct);
            throw new LinkRefusedException(refused.Problem.Status == HttpStatusCode.Conflict
                ? "This link code was already used. Run 'pigeon devices link' again on the new device for a new one."
                : "This link code has expired or is unknown to the server. Run 'pigeon devices link' again on the new device for a new one.", refused);
        }
        catch (ServerUnreachableException)
        {
            // A device left on the list without the account would never publish keys, and every
            // contact's message to this account would wait on them; the slot is still open, so the
            // same code works again once the server answers.
            await TakeBackAsync(session, deviceId, ct);
            throw;
        }

        return new LinkedDevice(deviceId, code.Fingerprint);
    }

    // The list with the new device, and the account sealed to the code.
    private static async Task<(DeviceList Linked, byte[] Payload)> PrepareAsync(ProfileSession session, DeviceList list, LinkCode code, uint deviceId)
    {
        DeviceList linked;
        try
        {
            linked = list.With(new DeviceEntry(deviceId, session.Time.GetUtcNow(), code.DeviceSigningKey), session.Environment.MaxDevices);
        }
        catch (ArgumentException exception)
        {
            throw new LinkRefusedException($"{exception.Message} Remove one first (pigeon devices remove ID).", exception);
        }

        var bundle = await session.WithStoreAsync(database => Bundle(session, database, linked, deviceId));
        var payload = ProvisioningKeyPair.Seal(code, bundle);
        CryptographicOperations.ZeroMemory(bundle);
        return (linked, payload);
    }

    // Publishes the list without the device, if the server can be reached at all; if not, the device
    // stays listed until 'pigeon devices remove' (or a later add of the same code, which finds it listed).
    private static async Task TakeBackAsync(ProfileSession session, uint deviceId, CancellationToken ct)
    {
        try
        {
            await session.Devices.PublishAsync((await session.Devices.OwnListAsync()).Without(deviceId), ct);
        }
        catch (MessagingException)
        {
        }
    }

    /// <summary>
    /// The new device's side (<c>pigeon devices link --server URL</c>): a slot, the code shown through
    /// <paramref name="showCode"/>, a wait until an existing device sends the account or the slot
    /// expires, then a profile in <paramref name="directory"/> for this new device of that account.
    /// </summary>
    public static async Task<ProfileRow> LinkAsync(MessagingEnvironment environment, string directory, Uri server, string? passphrase,
        Action<LinkCode, DateTimeOffset> showCode, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(showCode);
        if (ProfileDatabase.Exists(directory))
        {
            throw new ProfileExistsException(directory);
        }

        using var deviceKey = DeviceKeyPair.Generate();
        using var provisioning = ProvisioningKeyPair.Generate();
        byte[] sealedBundle;
        LinkCode code;
        using (var api = environment.ConnectApi(server, null))
        {
            var slot = await ServerCalls.RunAsync(server, () => api.CreateProvisioningSlotAsync(ct));
            code = new LinkCode(slot.SlotId, provisioning.PublicKey, deviceKey.PublicKey);
            showCode(code, slot.ExpiresAt);
            while (true)
            {
                byte[]? taken;
                try
                {
                    taken = await ServerCalls.RunAsync(server, () => api.TakeProvisioningAsync(slot.SlotId, TimeSpan.FromSeconds(ApiLimits.MaxWaitSeconds), ct));
                }
                catch (ServerRefusedException refused) when (refused.Problem.Status == HttpStatusCode.NotFound)
                {
                    throw new LinkRefusedException("The link code expired before an existing device used it. Run 'pigeon devices link' again.", refused);
                }

                if (taken is not null)
                {
                    sealedBundle = taken;
                    break;
                }
            }
        }

        LinkBundle bundle;
        try
        {
            var json = provisioning.Open(code, sealedBundle);
            bundle = JsonSerializer.Deserialize(json, LinkJson.Default.LinkBundle) ?? throw new JsonException("null");
            CryptographicOperations.ZeroMemory(json);
        }
        catch (Exception exception) when (exception is ProtocolException or JsonException)
        {
            throw new LinkRefusedException("What arrived in the provisioning slot is not an account for this code.", exception);
        }

        using var identity = IdentityKeyPair.Deserialize(bundle.Identity);
        var list = new DeviceList(identity.AccountId, bundle.DeviceListVersion,
            bundle.Devices.Select(d => new DeviceEntry(d.DeviceId, DateTimeOffset.FromUnixTimeMilliseconds(d.AddedAt), d.SigningKey)));
        if (!list.Verify(identity.PublicIdentity, bundle.DeviceListSignature)
            || list.Find(bundle.DeviceId) is not { } self || !self.SigningKey.AsSpan().SequenceEqual(deviceKey.PublicKey))
        {
            throw new LinkRefusedException("The account that arrived does not list this device under its identity.");
        }

        if (bundle.Contacts.FirstOrDefault(c => c.Change != ContactChange.Saved || c.Problem() is not null) is { } malformed)
        {
            throw new LinkRefusedException($"The account that arrived holds a contact that is not well formed ({malformed.Problem() ?? "not a saved contact"}).");
        }

        var now = environment.Time.GetUtcNow();

        return await ProfileSession.CreateDeviceAsync(environment, directory, server, bundle.DisplayName, passphrase, identity, bundle.DeviceId, deviceKey,
            newDeliveryKey: null, database =>
            {
                database.DeviceLists.Save(list, bundle.DeviceListSignature);
                database.DeliveryKeys.Save(identity.AccountId, DeliveryKey.FromBytes(bundle.DeliveryKey));
                foreach (var contact in bundle.Contacts)
                {
                    contact.Apply(database, now);
                }

                foreach (var group in bundle.Groups)
                {
                    database.Groups.Import(group.GroupId, group.Stored);
                }

                foreach (var (name, value) in bundle.Settings)
                {
                    database.Settings.Set(name, value);
                }
            }, ct);
    }

    private static byte[] Bundle(ProfileSession session, ProfileDatabase database, DeviceList linked, uint deviceId)
    {
        var own = session.Profile.AccountId;
        var identity = session.Identity.Serialize();
        try
        {
            var bundle = new LinkBundle(identity, deviceId, session.Profile.DisplayName, linked.Version,
                [.. linked.Devices.Select(d => new LinkDevice(d.DeviceId, d.AddedAt.ToUnixTimeMilliseconds(), d.SigningKey))], session.Identity.SignDeviceList(linked),
                database.DeliveryKeys.Load(own)!.ToBytes(),
                [.. database.Contacts.All().Select(c => ContactSync.Saved(database, c))],
                [.. database.Groups.Export().Select(g => new LinkGroup(g.GroupId, g.Stored))],
                new[] { ProfileSettings.ReadReceiptsName, ProfileSettings.TypingIndicatorsName, ProfileSettings.AutoDownloadName }
                    .Select(name => (name, value: database.Settings.Get(name))).Where(s => s.value is not null).ToDictionary(s => s.name, s => s.value!));
            return JsonSerializer.SerializeToUtf8Bytes(bundle, LinkJson.Default.LinkBundle);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(identity);
        }
    }
}

internal sealed record LinkDevice(uint DeviceId, long AddedAt, byte[] SigningKey);

internal sealed record LinkGroup(string GroupId, byte[] Stored);

/// <summary>What an existing device sends a new one, encrypted to it: the account and what this device knows of its contacts and groups.</summary>
internal sealed record LinkBundle(byte[] Identity, uint DeviceId, string DisplayName, ulong DeviceListVersion, LinkDevice[] Devices, byte[] DeviceListSignature,
    byte[] DeliveryKey, ContactSync[] Contacts, LinkGroup[] Groups, Dictionary<string, string> Settings);

[JsonSourceGenerationOptions(UseStringEnumConverter = true)]
[JsonSerializable(typeof(LinkBundle))]
internal sealed partial class LinkJson : JsonSerializerContext;
