using Microsoft.Extensions.Options;
using Npgsql;
using Pigeon.Hosting.Database;

namespace Pigeon.Gateway.Attachments;

/// <summary>Wires attachment storage into whichever host serves the API.</summary>
public static class AttachmentsHostingExtensions
{
    /// <summary>
    /// Adds <see cref="AttachmentsOptions"/> and, when <c>ConnectionStrings:Pigeon</c> is set, the
    /// PostgreSQL attachment store on a data source of its own (so a large download never takes a
    /// connection the membership view needs) and its sweeper. Without a connection string (a gateway
    /// on static silo endpoints) the attachment routes answer 503.
    /// </summary>
    public static IServiceCollection AddPigeonAttachments(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AttachmentsOptions>().BindConfiguration(AttachmentsOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AttachmentsOptions>, AttachmentsOptionsValidator>();
        if (configuration.ConnectionString() is not { } connectionString)
        {
            return services;
        }

        services.AddSingleton<IAttachmentStore>(provider =>
        {
            var pool = provider.GetRequiredService<IOptions<AttachmentsOptions>>().Value.DatabasePoolSize;
            var settings = new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = pool, ApplicationName = "pigeon-attachments" };
            return new PostgresAttachmentStore(new NpgsqlDataSourceBuilder(settings.ConnectionString)
                .UseLoggerFactory(provider.GetRequiredService<ILoggerFactory>()).Build());
        });
        services.AddSingleton<AttachmentSweeper>();
        services.AddHostedService(provider => provider.GetRequiredService<AttachmentSweeper>());
        return services;
    }
}
