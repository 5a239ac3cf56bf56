using Pigeon.Messaging.Store;
using Pigeon.Protocol.Identity;
using Pigeon.Protocol.Prekeys;
using Pigeon.Protocol.Storage;

namespace Pigeon.Tests.Testing;

/// <summary>Writes an initialised profile straight into the store, for command tests that need no server.</summary>
public static class OfflineProfiles
{
    /// <summary>Creates profile <paramref name="profile"/> for <paramref name="server"/> and returns its account id.</summary>
    public static string Create(CliHarness cli, string profile, string server, string? passphrase = null)
    {
        using var identity = IdentityKeyPair.Generate();
        var prekeys = new PrekeyStore();
        prekeys.RotateSignedPrekey(identity, DateTimeOffset.UtcNow);
        prekeys.RotateLastResortMlKemPrekey(identity, DateTimeOffset.UtcNow);
        prekeys.GenerateOneTimePrekeys(3);
        using var store = ProfileDatabase.Create(cli.ProfileDirectory(profile));
        (byte[], PassphraseKeyParameters, byte[])? encryption = null;
        if (passphrase is not null)
        {
            var parameters = new PassphraseKeyParameters(8 * 1024, 1);
            store.SetPassphrase(passphrase, parameters, out var salt, out var check);
            encryption = (salt, parameters, check);
        }
        store.InTransaction(() =>
        {
            store.Profile.Insert(server, profile, identity, DateTimeOffset.UtcNow, encryption);
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
}
