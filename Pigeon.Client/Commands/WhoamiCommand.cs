using System.CommandLine;
using System.Security.Cryptography;
using Pigeon.Client.Cli;

namespace Pigeon.Client.Commands;

/// <summary><c>pigeon whoami</c>: account id, server, name and the fingerprint of the identity key.</summary>
public sealed class WhoamiCommand : PigeonCommand
{
    /// <summary>Declares the command.</summary>
    public WhoamiCommand(CliContext context, GlobalOptions globals)
        : base("whoami", "Show your account id, server, name and key fingerprint.", context, globals)
    {
    }

    /// <summary>The first 20 hex digits, in groups of 4, of SHA-256 over the 128-byte public identity.</summary>
    public static string Fingerprint(Protocol.Identity.PublicIdentity identity)
    {
        var hex = Convert.ToHexStringLower(SHA256.HashData(identity.ToBytes()))[..20];
        return string.Join(' ', Enumerable.Range(0, 5).Select(i => hex.Substring(i * 4, 4)));
    }

    /// <inheritdoc/>
    protected override Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken ct)
    {
        using var session = OpenProfile(parseResult);
        var profile = session.Profile;
        var fingerprint = Fingerprint(profile.PublicIdentity);
        if (IsJson(parseResult))
        {
            WriteJson(new { accountId = profile.AccountId, name = profile.DisplayName, server = profile.Server, fingerprint, encrypted = profile.IsEncrypted });
        }
        else
        {
            Context.WriteLine($"Account id:  {profile.AccountId}");
            Context.WriteLine($"Name:        {profile.DisplayName}");
            Context.WriteLine($"Server:      {profile.Server}");
            Context.WriteLine($"Fingerprint: {fingerprint}");
            Context.WriteLine($"Encrypted:   {(profile.IsEncrypted ? "yes (passphrase)" : "no")}");
        }
        return Task.FromResult(ExitCodes.Success);
    }
}
