using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Graph;

/// <summary>
/// App-only Microsoft Graph access for both hosts (the web's live drill-down and the worker's ingestion).
/// <code>
/// services.AddGraphClient(settings);            // web and worker (AddGraphIngestion calls it)
/// // raw JSON (the ingestion hot path; pipeline, RU budget and User-Agent included):
/// var r = await graphHttp.GetAsync($"drives/{d}/items/{i}/permissions", new GraphCallStats(), ct);
/// // or the SDK (typed models, page iterator; same pipeline):
/// var perms = await graphClientFactory.Create().Drives[d].Items[i].Permissions.GetAsync(cancellationToken: ct);
/// </code>
/// Configuration: ENTRA_INSTANCE, ENTRA_TENANT_ID, ENTRA_CLIENT_ID, ENTRA_CLIENT_SECRET, GRAPH_BASE_URL,
/// SENTINEL_CA_FILE. Missing credentials surface as JobFailedException("graph_not_configured") on first use.
/// </summary>
public static class GraphRegistration
{
    public static IServiceCollection AddGraphClient(this IServiceCollection services, SentinelSettings settings)
    {
        services.TryAddSingleton(settings);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddKeyedSingleton<TimeProvider>(GraphClock.Key, (sp, _) => sp.GetRequiredService<TimeProvider>());
        services.TryAddSingleton<GraphRetryOptions>();
        services.TryAddSingleton<GraphBudgetOptions>();
        services.TryAddSingleton<GraphThrottleGate>();
        services.TryAddSingleton<GraphRuBudget>();
        services.TryAddSingleton<GraphResilience>();
        services.TryAddSingleton<GraphHttpClientHolder>();
        EntraAuth.AddGraphAppTokenAcquisition(services, settings);
        services.TryAddSingleton<GraphTokenProvider>();
        services.TryAddSingleton<GraphHttp>();
        services.TryAddSingleton<GraphClientFactory>();
        return services;
    }
}
