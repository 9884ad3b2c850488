using Microsoft.Identity.Client;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Graph;

/// <summary>
/// App-only (client credentials) Graph tokens from MSAL.NET against <see cref="SentinelSettings.Authority"/>
/// (ENTRA_INSTANCE + ENTRA_TENANT_ID). Authority validation and instance discovery are off so a national cloud
/// or the local tenant simulator works; TLS trust comes from <see cref="TrustedHttp"/> (SENTINEL_CA_FILE),
/// never from disabling validation. MSAL caches the token in memory until shortly before it expires.
/// </summary>
public sealed class GraphTokenProvider
{
    public static readonly string[] Scopes = ["https://graph.microsoft.com/.default"];

    private readonly Lazy<IConfidentialClientApplication> _app;

    public GraphTokenProvider(SentinelSettings settings, GraphHttpClientHolder http)
    {
        _app = new Lazy<IConfidentialClientApplication>(() =>
        {
            if (settings.EntraTenantId is null || settings.EntraClientId is null || settings.EntraClientSecret is null)
                throw new JobFailedException("graph_not_configured",
                    "Microsoft Graph is not configured: set ENTRA_TENANT_ID, ENTRA_CLIENT_ID and ENTRA_CLIENT_SECRET");
            return ConfidentialClientApplicationBuilder.Create(settings.EntraClientId)
                .WithClientSecret(settings.EntraClientSecret)
                .WithAuthority(settings.Authority, validateAuthority: false)
                .WithInstanceDiscovery(false)
                .WithHttpClientFactory(new MsalHttpFactory(http.Client))
                .Build();
        });
    }

    /// <summary>A bearer token for Graph. Failures become a secret-free <see cref="JobFailedException"/>.</summary>
    public async Task<string> GetTokenAsync(CancellationToken ct)
    {
        try
        {
            var result = await _app.Value.AcquireTokenForClient(Scopes).ExecuteAsync(ct);
            return result.AccessToken;
        }
        catch (MsalServiceException e)
        {
            throw new JobFailedException("graph_auth_failed",
                $"the Entra token endpoint refused the app-only token request ({e.ErrorCode}, HTTP {e.StatusCode}); check ENTRA_TENANT_ID, ENTRA_CLIENT_ID, ENTRA_CLIENT_SECRET and the app's Graph permissions");
        }
        catch (MsalClientException e)
        {
            throw new JobFailedException("graph_auth_failed",
                $"could not obtain an app-only token from ENTRA_INSTANCE ({e.ErrorCode}); check ENTRA_INSTANCE and SENTINEL_CA_FILE");
        }
        catch (HttpRequestException)
        {
            throw new JobFailedException("graph_auth_failed", "could not reach the Entra token endpoint (ENTRA_INSTANCE)");
        }
    }

    private sealed class MsalHttpFactory(HttpClient client) : IMsalHttpClientFactory
    {
        public HttpClient GetHttpClient() => client;
    }
}

/// <summary>The one pooled HTTPS client (TrustedHttp handler) shared by MSAL and Graph calls.</summary>
public sealed class GraphHttpClientHolder(SentinelSettings settings) : IDisposable
{
    private readonly Lazy<HttpClient> _client = new(() => TrustedHttp.CreateClient(settings.CaFile, Timeout.InfiniteTimeSpan));

    /// <summary>No client-wide timeout: each call sets its own (see <see cref="GraphRetryOptions.RequestTimeout"/>).</summary>
    public HttpClient Client => _client.Value;

    public void Dispose()
    {
        if (_client.IsValueCreated) _client.Value.Dispose();
    }
}
