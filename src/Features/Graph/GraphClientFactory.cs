using Microsoft.Graph;
using Microsoft.Kiota.Abstractions.Authentication;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Graph;

/// <summary>
/// Builds a Microsoft.Graph SDK client for GRAPH_BASE_URL whose token provider allows exactly that host (the SDK
/// sends no token to hosts outside its allow-list, e.g. the local simulator otherwise). Its HttpClient has no Kiota
/// middleware: every request goes through <see cref="GraphSdkHandler"/>, i.e. the same resilience pipeline, RU
/// budget and User-Agent as raw calls.
/// </summary>
public sealed class GraphClientFactory(SentinelSettings settings, GraphTokenProvider tokens, GraphResilience resilience) : IDisposable
{
    private readonly Lazy<HttpClient> _sdkHttp = new(() => new HttpClient(new GraphSdkHandler(resilience)
    {
        InnerHandler = TrustedHttp.CreateHandler(settings),
    }) { Timeout = Timeout.InfiniteTimeSpan });

    public GraphServiceClient Create()
    {
        var baseUrl = settings.GraphBaseUrl.TrimEnd('/');
        var host = new Uri(baseUrl).Host;
        return new GraphServiceClient(_sdkHttp.Value, new BaseBearerTokenAuthenticationProvider(new TokenProvider(tokens, host)), baseUrl);
    }

    public void Dispose()
    {
        if (_sdkHttp.IsValueCreated) _sdkHttp.Value.Dispose();
    }

    private sealed class TokenProvider(GraphTokenProvider tokens, string host) : IAccessTokenProvider
    {
        public AllowedHostsValidator AllowedHostsValidator { get; } = new([host]);

        public Task<string> GetAuthorizationTokenAsync(Uri uri, Dictionary<string, object>? additionalAuthenticationContext = null,
            CancellationToken cancellationToken = default) =>
            AllowedHostsValidator.IsUrlHostValid(uri) ? tokens.GetTokenAsync(cancellationToken) : Task.FromResult(string.Empty);
    }
}
