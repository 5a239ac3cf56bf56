using System.CommandLine;
using Pigeon.Client.Cli;
using Pigeon.Messaging.Devices;

namespace Pigeon.Client.Commands.Devices;

/// <summary>
/// <c>pigeon devices</c> lists this account's devices; <c>devices link --server URL</c> makes this
/// machine a new device of an account (it shows a code), <c>devices add CODE</c> on an existing device
/// sends it the account, and <c>devices remove ID</c> takes a device off the account (docs/adr/0005-devices.md).
/// </summary>
public sealed class DevicesCommand : PigeonCommand
{
    /// <summary>Declares the command and its subcommands.</summary>
    public DevicesCommand(CliContext context, GlobalOptions globals)
        : base("devices", "List this account's devices; link, add or remove one.", context, globals)
    {
        Subcommands.Add(new LinkCommand(context, globals));
        Subcommands.Add(new AddCommand(context, globals));
        Subcommands.Add(new RemoveDeviceCommand(context, globals));
    }

    /// <inheritdoc/>
    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken ct)
    {
        using var session = OpenProfile(parseResult);
        var devices = await session.Devices.ListAsync(ct);
        if (IsJson(parseResult))
        {
            WriteJson(devices.Select(d => new { deviceId = d.DeviceId, addedAt = d.AddedAt, thisDevice = d.IsThisDevice }));
            return ExitCodes.Success;
        }

        foreach (var device in devices)
        {
            Context.WriteLine($"{device.DeviceId,3}  added {device.AddedAt.ToLocalTime():yyyy-MM-dd HH:mm}{(device.IsThisDevice ? "  (this device)" : "")}");
        }

        return ExitCodes.Success;
    }

    private sealed class LinkCommand : PigeonCommand
    {
        private readonly Option<string> _server = new("--server", "-s") { Description = "The account's server", HelpName = "URL", Required = true };

        private readonly Option<bool> _insecure = new("--insecure") { Description = "Accept an http:// server that is not on a loopback address (test networks only)" };

        private readonly Option<bool> _noPassphrase = new("--no-passphrase") { Description = "Store this device's profile unencrypted" };

        public LinkCommand(CliContext context, GlobalOptions globals)
            : base("link", "Make this machine a new device of an existing account: shows a code to give 'pigeon devices add' there.", context, globals)
        {
            Options.Add(_server);
            Options.Add(_insecure);
            Options.Add(_noPassphrase);
        }

        protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken ct)
        {
            var server = InitCommand.ServerAddress(Context, parseResult.GetRequiredValue(_server), parseResult.GetValue(_insecure));
            var passphrase = new Passphrases(Context).New(
                parseResult.GetValue(_noPassphrase), parseResult.GetValue(Globals.PassphraseFile), Passphrases.Variable, "--no-passphrase");
            var directory = Context.ProfileDirectory(parseResult.GetValue(Globals.Profile));
            var json = IsJson(parseResult);
            var linked = await DeviceLinking.LinkAsync(Context.Messaging, directory, server, passphrase, (code, expiresAt) =>
            {
                if (json)
                {
                    WriteJson(new { code = code.ToString(), fingerprint = code.Fingerprint, expiresAt });
                    return;
                }

                if (Context.IsTerminal)
                {
                    Context.WriteLine(TerminalQrCode.Draw(code.ToString()));
                }

                Context.WriteLine("On a device that already has the account, run:");
                Context.WriteLine($"  pigeon devices add {code}");
                Context.WriteLine($"Both devices show this fingerprint: {code.Fingerprint}");
                Context.WriteLine($"The code works once, until {expiresAt.ToLocalTime():HH:mm}. Waiting…");
            }, ct);
            if (json)
            {
                WriteJson(new { accountId = linked.AccountId, deviceId = linked.DeviceId, name = linked.DisplayName, profile = directory });
            }
            else
            {
                Context.WriteLine($"Linked: this is device {linked.DeviceId} of {PeerText.Inline(linked.DisplayName)} ({linked.AccountId}).");
            }

            return ExitCodes.Success;
        }
    }

    private sealed class AddCommand : PigeonCommand
    {
        private readonly Argument<string> _code = new("code") { Description = "The code 'pigeon devices link' shows on the new device" };

        public AddCommand(CliContext context, GlobalOptions globals)
            : base("add", "Add the device that shows CODE to this account, and send it the account.", context, globals)
        {
            Arguments.Add(_code);
        }

        protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken ct)
        {
            using var session = OpenProfile(parseResult);
            var linked = await DeviceLinking.AddAsync(session, parseResult.GetRequiredValue(_code), ct);
            if (IsJson(parseResult))
            {
                WriteJson(new { deviceId = linked.DeviceId, fingerprint = linked.Fingerprint });
            }
            else
            {
                Context.WriteLine($"Added device {linked.DeviceId}; check that it shows the fingerprint {linked.Fingerprint}.");
            }

            return ExitCodes.Success;
        }
    }

    private sealed class RemoveDeviceCommand : PigeonCommand
    {
        private readonly Argument<uint> _id = new("id") { Description = "The device's id (see pigeon devices)" };

        public RemoveDeviceCommand(CliContext context, GlobalOptions globals)
            : base("remove", "Take a device off this account: it receives nothing more and can no longer sign in.", context, globals)
        {
            Arguments.Add(_id);
        }

        protected override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken ct)
        {
            using var session = OpenProfile(parseResult);
            var id = parseResult.GetRequiredValue(_id);
            await session.Devices.RemoveAsync(id, ct);
            if (IsJson(parseResult))
            {
                WriteJson(new { removed = id });
            }
            else
            {
                Context.WriteLine($"Removed device {id}: its mailbox and keys are deleted on the server, and your contacts stop encrypting to it at their next message.");
            }

            return ExitCodes.Success;
        }
    }
}
