using Pigeon.Hosting.Configuration;
using Pigeon.Hosting.Database;
using Pigeon.Silo.Database;
using Pigeon.Silo.Hosting;

namespace Pigeon.Silo;

/// <summary>
/// The silo process. <c>Pigeon.Silo migrate</c> applies the schema migrations and exits; with no
/// command it runs a silo until SIGTERM, then leaves the cluster gracefully.
/// </summary>
internal sealed class SiloProgram
{
    // Not static, so that tests can name it as the entry point of a WebApplicationFactory.
    private SiloProgram()
    {
    }

    public static async Task<int> Main(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args.Where(arg => arg != "migrate").ToArray());
        if (args.Contains("migrate"))
        {
            var connectionString = builder.Configuration.ConnectionString();
            string[] problems = connectionString is null ? [PigeonDatabase.MissingConnectionString("to migrate")] : [];
            return await PigeonStartup.RunAsync("Pigeon.Silo migrate", problems, async () =>
            {
                using var loggerFactory = LoggerFactory.Create(logging => logging.AddConsole().AddFilter("Npgsql", LogLevel.Warning));
                using var stopping = new CancellationTokenSource();
                Console.CancelKeyPress += (_, eventArgs) => { eventArgs.Cancel = true; stopping.Cancel(); };
                return await MigrateCommand.RunAsync(connectionString!, loggerFactory, stopping.Token);
            });
        }

        return await PigeonStartup.RunAsync("Pigeon.Silo", builder.Configuration.ValidatePigeonSiloConfiguration(), async () =>
        {
            builder.UsePigeonSilo();
            var app = builder.Build();
            app.MapPigeonSilo();
            await app.RunAsync();
            return 0;
        });
    }
}
