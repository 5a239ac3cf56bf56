using Pigeon.Client.Cli;

return await PigeonCli.RunAsync(args, CliContext.FromProcess());
