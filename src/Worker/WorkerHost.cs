using MediatR;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Sentinel.Features.Database;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Worker;

/// <summary>Builds the worker host: control-plane API + hosted scheduler, all executor slices registered.</summary>
public static class WorkerHost
{
    public const string DefaultUrls = "http://localhost:8081";

    /// <summary>The worker's service registrations; the architecture test builds this same container.</summary>
    public static void ConfigureServices(IServiceCollection services, IConfiguration configuration)
    {
        var settings = SentinelSettings.FromConfiguration(configuration);
        services.TryAddSingleton(settings);
        services.AddSentinelFeatures(HostRole.Worker, settings.ConnectionString);
        WorkerModules.ConfigureServices(services, configuration, settings);
    }

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args });
        SentinelHostDefaults.Apply(builder, DefaultUrls);
        configure?.Invoke(builder);
        builder.AddSentinelTelemetry("sentinel-worker");
        ConfigureServices(builder.Services, builder.Configuration);

        var app = builder.Build();
        app.UseSentinelTelemetry();
        WorkerModules.Map(app);
        return app;
    }

    public static async Task<int> ServeAsync(string[] args)
    {
        var app = Build(args);
        using (var scope = app.Services.CreateScope())
        {
            var result = await scope.ServiceProvider.GetRequiredService<IMediator>()
                .Send(new ApplyMigrations.Command(ApplyMigrations.DefaultDirectory()));
            app.Logger.LogInformation("migrations: {Applied} applied, {Skipped} already up to date", result.Applied.Count, result.AlreadyApplied.Count);
            if (app.Configuration["SENTINEL_SEED_JOBS"] is not ("0" or "false"))
            {
                var seeded = await scope.ServiceProvider.GetRequiredService<IMediator>()
                    .Send(new Sentinel.Features.Setup.SeedDefaultJobs.Command(TimeSpan.FromSeconds(20),
                        app.Configuration["SENTINEL_SEED_INGEST_CONFIG"] is { Length: > 0 } seedConfig ? seedConfig : "{}"));
                if (seeded.Seeded) app.Logger.LogInformation("first run: seeded {Count} default jobs (graph_ingest every 5 minutes, first run in 20 s)", seeded.JobIds.Count);
            }
        }
        await app.RunAsync();
        return WorkerCli.ExitOk;
    }

    public static async Task<ApplyMigrations.Result> MigrateAsync(CancellationToken ct)
    {
        var configuration = new ConfigurationBuilder().AddEnvironmentVariables().Build();
        var services = new ServiceCollection();
        services.AddLogging(l => l.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Error));
        services.AddSingleton<IConfiguration>(configuration);
        var settings = SentinelSettings.FromConfiguration(configuration);
        services.AddSentinelFeatures(HostRole.Worker, settings.ConnectionString);
        await using var provider = services.BuildServiceProvider();
        using var scope = provider.CreateScope();
        return await scope.ServiceProvider.GetRequiredService<IMediator>()
            .Send(new ApplyMigrations.Command(ApplyMigrations.DefaultDirectory()), ct);
    }
}
