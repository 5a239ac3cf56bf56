using Microsoft.Data.Sqlite;
using Pigeon.Messaging.Store;
using Pigeon.Protocol.Devices;
using Pigeon.Protocol.Identity;
using Pigeon.Protocol.Prekeys;
using Pigeon.Protocol.Storage;

namespace Pigeon.Tests.Testing;

/// <summary>Writes an initialised profile straight into the store, for command tests that need no server.</summary>
public static class OfflineProfiles
{
    /// <summary>
    /// Creates profile <paramref name="profile"/> for <paramref name="server"/> and returns its account
    /// id: under <paramref name="passphrase"/>, or a plaintext profile for null (as <c>--no-passphrase</c> makes).
    /// </summary>
    public static string Create(CliHarness cli, string profile, string server, string? passphrase = null)
    {
        using var identity = IdentityKeyPair.Generate();
        using var deviceKey = DeviceKeyPair.Generate();
        var prekeys = new PrekeyStore();
        prekeys.RotateSignedPrekey(identity, DateTimeOffset.UtcNow);
        prekeys.RotateLastResortMlKemPrekey(identity, DateTimeOffset.UtcNow);
        prekeys.GenerateOneTimePrekeys(3);
        using var store = ProfileDatabase.Create(cli.ProfileDirectory(profile), passphrase, new PassphraseKeyParameters(8 * 1024, 1));
        store.InTransaction(() =>
        {
            store.Profile.Insert(server, profile, identity, 1, deviceKey, DateTimeOffset.UtcNow);
            store.Prekeys.Save(prekeys);
        });
        return identity.AccountId;
    }

    /// <summary>The serialized private identity of a profile (to search the file for it).</summary>
    public static byte[] PrivateIdentityBytes(CliHarness cli, string profile, string? passphrase)
    {
        using var store = ProfileDatabase.Open(cli.ProfileDirectory(profile), () => passphrase);
        using var identity = store.Profile.LoadIdentity();
        return identity.Serialize();
    }

    /// <summary>The header's store-key column as the file holds it (0x00 ‖ key without a passphrase, 0x01 ‖ wrapped with one).</summary>
    public static byte[] HeaderStoreKey(CliHarness cli, string profile)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = cli.DatabasePath(profile), Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT store_key FROM header";
        return (byte[])command.ExecuteScalar()!;
    }
}
