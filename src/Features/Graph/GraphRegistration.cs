using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Graph;
using Microsoft.Kiota.Abstractions.Authentication;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Graph;

/// <summary>
/// App-only Microsoft Graph access for both hosts (the web's live drill-down and the worker's ingestion).
/// <code>
/// services.AddGraphClient(settings);            // web and worker (AddGraphIngestion calls it)
/// // raw JSON (gate + retries + User-Agent included):
/// var r = await graphHttp.GetAsync($"drives/{d}/items/{i}/permissions", new GraphCallStats(), ct);
/// if (r.IsSuccess) { using var doc = r.Json(); ... }
/// // or the SDK:
/// var client = graphClientFactory.Create();
/// var perms = await client.Drives[d].Items[i].Permissions.GetAsync(cancellationToken: ct);
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
        services.TryAddSingleton<GraphRetryOptions>();
        services.TryAddSingleton<GraphThrottleGate>();
        services.TryAddSingleton<GraphHttpClientHolder>();
        EntraAuth.AddGraphAppTokenAcquisition(services, settings);
        services.TryAddSingleton<GraphTokenProvider>();
        services.TryAddSingleton<GraphHttp>();
        services.TryAddSingleton<GraphClientFactory>();
        return services;
    }
}

/// <summary>
/// Builds a Microsoft.Graph SDK client for GRAPH_BASE_URL whose token provider allows exactly that host
/// (the SDK sends no token to hosts outside its allow-list, e.g. the local simulator otherwise). Its
/// HttpClient goes through the shared throttle gate, sets the User-Agent and retries 429/503 after Retry-After.
/// </summary>
public sealed class GraphClientFactory(SentinelSettings settings, GraphTokenProvider tokens, GraphThrottleGate gate, GraphRetryOptions retry)
{
    private readonly Lazy<HttpClient> _sdkHttp = new(() => new HttpClient(new GateHandler(gate, retry)
    {
        InnerHandler = TrustedHttp.CreateHandler(settings),
    }) { Timeout = retry.RequestTimeout });

    public GraphServiceClient Create()
    {
        var baseUrl = settings.GraphBaseUrl.TrimEnd('/');
        var host = new Uri(baseUrl).Host;
        return new GraphServiceClient(_sdkHttp.Value, new BaseBearerTokenAuthenticationProvider(new TokenProvider(tokens, host)), baseUrl);
    }

    private sealed class TokenProvider(GraphTokenProvider tokens, string host) : IAccessTokenProvider
    {
        public AllowedHostsValidator AllowedHostsValidator { get; } = new([host]);

        public Task<string> GetAuthorizationTokenAsync(Uri uri, Dictionary<string, object>? additionalAuthenticationContext = null,
            CancellationToken cancellationToken = default) =>
            AllowedHostsValidator.IsUrlHostValid(uri) ? tokens.GetTokenAsync(cancellationToken) : Task.FromResult(string.Empty);
    }

    private sealed class GateHandler(GraphThrottleGate gate, GraphRetryOptions retry) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            request.Headers.Remove("User-Agent");
            request.Headers.TryAddWithoutValidation("User-Agent", GraphHttp.UserAgent);
            for (var attempt = 1; ; attempt++)
            {
                await gate.WaitAsync(ct);
                var response = await base.SendAsync(request, ct);
                var status = (int)response.StatusCode;
                if (status is not (429 or 503) || attempt >= 3 || request.Content is not null) return response;
                gate.PauseFor((GraphHttp.RetryAfter(response.Headers) ?? retry.DefaultThrottleDelay) + retry.RetryAfterMargin);
                response.Dispose();
            }
        }
    }
}
