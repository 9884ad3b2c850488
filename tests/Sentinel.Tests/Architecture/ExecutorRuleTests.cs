using System.Reflection;
using MediatR;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sentinel.Features.Infrastructure;
using Sentinel.Web;
using Sentinel.Worker;

namespace Sentinel.Tests.Architecture;

/// <summary>The executor rule: only the worker can resolve handlers of slices that execute work.</summary>
public sealed class ExecutorRuleTests
{
    private static readonly Assembly Features = typeof(Db).Assembly;

    private static IConfiguration Configuration() => new ConfigurationBuilder()
        .AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["DATABASE_URL"] = "postgres://sentinel:unused@127.0.0.1:1/unused",
            ["ENTRA_TENANT_ID"] = "11111111-1111-1111-1111-111111111111",
            ["ENTRA_CLIENT_ID"] = "22222222-2222-2222-2222-222222222222",
            ["ENTRA_CLIENT_SECRET"] = "not-a-real-secret",
        })
        .Build();

    private static IEnumerable<Type> ExecutorHandlerServiceTypes() =>
        Features.GetTypes()
            .Where(t => !t.IsAbstract && !t.IsInterface && FeatureRegistration.IsExecutorRequest(t))
            .Select(request =>
            {
                var response = request.GetInterfaces()
                    .Single(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IRequest<>))
                    .GetGenericArguments()[0];
                return typeof(IRequestHandler<,>).MakeGenericType(request, response);
            });

    private static ServiceProvider BuildWith(Action<IServiceCollection, IConfiguration> configure)
    {
        var services = new ServiceCollection();
        var configuration = Configuration();
        services.AddSingleton(configuration);
        services.AddLogging();
        configure(services, configuration);
        return services.BuildServiceProvider();
    }

    [Fact]
    public void There_are_executor_slices_to_guard()
    {
        Assert.NotEmpty(ExecutorHandlerServiceTypes());
    }

    [Fact]
    public void Web_host_cannot_resolve_any_executor_handler()
    {
        using var provider = BuildWith(WebAppHost.ConfigureServices);
        using var scope = provider.CreateScope();
        var resolvable = ExecutorHandlerServiceTypes()
            .Where(t => scope.ServiceProvider.GetService(t) is not null)
            .Select(t => t.GenericTypeArguments[0].FullName)
            .ToList();
        Assert.Empty(resolvable);
    }

    [Fact]
    public void Worker_host_resolves_every_executor_handler()
    {
        using var provider = BuildWith(WorkerHost.ConfigureServices);
        using var scope = provider.CreateScope();
        var missing = ExecutorHandlerServiceTypes()
            .Where(t => scope.ServiceProvider.GetService(t) is null)
            .Select(t => t.GenericTypeArguments[0].FullName)
            .ToList();
        Assert.Empty(missing);
    }

    [Fact]
    public void Web_host_still_resolves_non_executor_handlers()
    {
        using var provider = BuildWith(WebAppHost.ConfigureServices);
        using var scope = provider.CreateScope();
        var handler = scope.ServiceProvider.GetService(
            typeof(IRequestHandler<Sentinel.Features.Jobs.CreateJob.Command, Sentinel.Features.Jobs.CreateJob.Result>));
        Assert.NotNull(handler);
    }
}
