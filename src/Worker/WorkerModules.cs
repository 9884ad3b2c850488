using Sentinel.Features.Infrastructure;
using Sentinel.Features.Execution;

namespace Sentinel.Worker;

/// <summary>The worker's services and HTTP routes, grouped by area so each area adds its own lines here.</summary>
internal static class WorkerModules
{
    public static void ConfigureServices(IServiceCollection services, IConfiguration configuration, SentinelSettings settings)
    {
        // Control plane: Entra access tokens (Identity.Web), operator roles.
        ControlPlane.AddAuth(services, settings);
        Sentinel.Features.Ingestion.IngestionRegistration.AddGraphIngestion(services, settings);

        // Scheduler: loop (hosted unless SCHEDULER_ENABLED=false), run bookkeeping, health state.
        services.AddScheduler(SchedulerConfiguration.FromConfiguration(configuration, settings));
        if (SchedulerConfiguration.Enabled(configuration))
            services.AddHostedService(p => p.GetRequiredService<Scheduler>());
        services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(45));
    }

    public static void Map(WebApplication app)
    {
        app.UseSentinelJsonErrors();
        app.UseAuthentication();
        app.UseAuthorization();
        ControlPlane.Map(app);
    }
}
