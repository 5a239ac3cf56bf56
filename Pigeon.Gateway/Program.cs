using Pigeon.Gateway.Hosting;
using Pigeon.Hosting.Configuration;

var builder = WebApplication.CreateBuilder(args);
return await PigeonStartup.RunAsync("Pigeon.Gateway", builder.Configuration.ValidatePigeonGatewayConfiguration(), async () =>
{
    builder.AddPigeonGateway();
    var app = builder.Build();
    app.MapPigeonGateway();
    await app.RunAsync();
    return 0;
});

/// <summary>The gateway's entry point, public so tests can host it with WebApplicationFactory.</summary>
public partial class Program;
