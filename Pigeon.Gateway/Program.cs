var builder = WebApplication.CreateBuilder(args);
var app = builder.Build();
app.MapGet("/health/live", () => TypedResults.Ok("live"));
await app.RunAsync();

/// <summary>The gateway's entry point, public so tests can host it with WebApplicationFactory.</summary>
public partial class Program;
