using System.CommandLine;

var root = new RootCommand("pigeon: end-to-end encrypted messages. The commands arrive with the client issue.");
return await root.Parse(args).InvokeAsync();
