using Pigeon.Silo.Database;
using Pigeon.Silo.Hosting;

namespace Pigeon.Silo;

/// <summary>
/// The silo process. <c>Pigeon.Silo migrate</c> applies the schema migrations and exits; with no
/// command it runs a silo until SIGTERM, then leaves the cluster gracefully.
/// </summary>
internal static class SiloProgram
{
    public static async Task<int> Main(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args.Where(arg => arg != "migrate").ToArray());
        var problems = builder.Configuration.ValidatePigeonSiloConfiguration();
        if (args.Contains("migrate"))
        {
            var connectionString = builder.Configuration.GetConnectionString(PigeonSiloOptions.ConnectionStringName);
            if (string.IsNullOrWhiteSpace(connectionString))
            {
                await Console.Error.WriteLineAsync(problems[0]);
                return 2;
            }

            using var loggerFactory = LoggerFactory.Create(logging => logging.AddConsole().AddFilter("Npgsql", LogLevel.Warning));
            using var stopping = new CancellationTokenSource();
            Console.CancelKeyPress += (_, eventArgs) => { eventArgs.Cancel = true; stopping.Cancel(); };
            return await MigrateCommand.RunAsync(connectionString, loggerFactory, stopping.Token);
        }

        if (problems.Count > 0)
        {
            await Console.Error.WriteLineAsync("Pigeon.Silo cannot start, the configuration has problems:");
            foreach (var problem in problems)
            {
                await Console.Error.WriteLineAsync($"  - {problem}");
            }

            return 2;
        }

        builder.UsePigeonSilo();
        var app = builder.Build();
        app.MapPigeonSiloHealth();
        await app.RunAsync();
        return 0;
    }
}
