using Pigeon.Gateway.Hosting;

var builder = WebApplication.CreateBuilder(args);
var problems = builder.Configuration.ValidatePigeonGatewayConfiguration();
if (problems.Count > 0)
{
    await Console.Error.WriteLineAsync("Pigeon.Gateway cannot start, the configuration has problems:");
    foreach (var problem in problems)
    {
        await Console.Error.WriteLineAsync($"  - {problem}");
    }

    return 2;
}

builder.AddPigeonGateway();
var app = builder.Build();
app.MapPigeonGateway();
await app.RunAsync();
return 0;

/// <summary>The gateway's entry point, public so tests can host it with WebApplicationFactory.</summary>
public partial class Program;
