using FluentValidation;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Sentinel.Features.Infrastructure;

public enum HostRole { Web, Worker }

public static class FeatureRegistration
{
    /// <summary>
    /// Registers the mediator, pipeline behaviours, validators and handlers of this assembly.
    /// Handlers of executor requests are registered only for the worker.
    /// </summary>
    public static IServiceCollection AddSentinelFeatures(this IServiceCollection services, HostRole role, string connectionString)
    {
        Dapper.DefaultTypeMap.MatchNamesWithUnderscores = true;
        DateTimeOffsetTypeHandler.Register();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(_ => Db.CreateDataSource(connectionString, $"sentinel-{role.ToString().ToLowerInvariant()}"));
        services.TryAddSingleton<Db>();
        services.AddScoped<ServiceFactory>(p => p.GetService!);
        services.AddScoped<IMediator, Mediator>();
        services.AddScoped(typeof(IPipelineBehavior<,>), typeof(LoggingBehavior<,>));
        services.AddScoped(typeof(IPipelineBehavior<,>), typeof(ValidationBehavior<,>));

        // FluentValidation's own registration (internal validators included); handlers stay with Scrutor.
        services.AddValidatorsFromAssemblyContaining<Db>(ServiceLifetime.Transient, includeInternalTypes: true);

        services.Scan(scan => scan
            .FromAssemblyOf<Db>()
            .AddClasses(c => c.AssignableTo(typeof(IRequestHandler<,>)).Where(t => role == HostRole.Worker || !IsExecutorHandler(t)), publicOnly: false)
            .AsImplementedInterfaces()
            .WithScopedLifetime());

        if (role == HostRole.Worker)
        {
            services.Scan(scan => scan
                .FromAssemblyOf<Db>()
                .AddClasses(c => c.AssignableTo<IWorkerService>(), publicOnly: false)
                .As(WorkerServiceContracts)
                .WithScopedLifetime());
        }

        return services;
    }

    /// <summary>The worker-only contracts a class implements (e.g. IJobExecutor), not the marker itself.</summary>
    private static IEnumerable<Type> WorkerServiceContracts(Type implementation) =>
        implementation.GetInterfaces().Where(i => i != typeof(IWorkerService) && typeof(IWorkerService).IsAssignableFrom(i));

    public static bool IsExecutorHandler(Type handlerType) =>
        handlerType.GetInterfaces()
            .Where(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IRequestHandler<,>))
            .Any(i => IsExecutorRequest(i.GetGenericArguments()[0]));

    public static bool IsExecutorRequest(Type requestType) =>
        requestType.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IExecutorRequest<>));
}
