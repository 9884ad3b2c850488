using Microsoft.Extensions.DependencyInjection;

namespace Sentinel.Features.Execution;

/// <summary>The worker-only scheduler services: options, loop, run bookkeeping, health state and the executor catalog.</summary>
public static class SchedulerRegistration
{
    public static IServiceCollection AddScheduler(this IServiceCollection services, SchedulerOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton<SchedulerState>();
        services.AddSingleton<JobRunner>();
        services.AddSingleton<Scheduler>();
        // Read lazily, so executors registered after this call (other areas, tests) are in the catalog too.
        services.AddSingleton(_ => new JobExecutorCatalog(services
            .Where(d => d.ServiceType == typeof(IJobExecutor))
            .Select(d => d.ImplementationType)
            .OfType<Type>()
            .ToList()));
        return services;
    }
}
