using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Identity.Client;
using Microsoft.Identity.Web;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Graph;

/// <summary>
/// App-only (client credentials) Graph tokens from Microsoft.Identity.Web's token acquisition
/// (<see cref="ITokenAcquisition.GetAuthenticationResultForAppAsync"/>) on the <see cref="EntraAuth.GraphAppScheme"/>
/// registration: Authority {ENTRA_INSTANCE}{tenant}/v2.0, MSAL's HTTP through the TrustedHttp named client
/// (SENTINEL_CA_FILE for the Entra/Graph hosts only). MSAL caches the token (in memory in the worker, in the
/// PostgreSQL distributed cache in the web); the last result is also kept here until 5 minutes before it expires so
/// the ingestion hot path does not go through the cache per request.
/// </summary>
public sealed class GraphTokenProvider(SentinelSettings settings, IServiceScopeFactory scopes, IOptionsMonitor<JwtBearerOptions> schemeOptions, TimeProvider clock)
{
    public static readonly string[] Scopes = ["https://graph.microsoft.com/.default"];
    private static readonly TimeSpan RenewBefore = TimeSpan.FromMinutes(5);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private (string Token, DateTimeOffset ExpiresOn)? _current;

    /// <summary>A bearer token for Graph. Failures become a secret-free <see cref="JobFailedException"/>.</summary>
    public async Task<string> GetTokenAsync(CancellationToken ct)
    {
        if (_current is { } c && c.ExpiresOn - RenewBefore > clock.GetUtcNow()) return c.Token;
        if (!EntraAuth.IsConfigured(settings))
            throw new JobFailedException("graph_not_configured",
                "Microsoft Graph is not configured: set ENTRA_TENANT_ID, ENTRA_CLIENT_ID and ENTRA_CLIENT_SECRET");
        await _gate.WaitAsync(ct);
        try
        {
            if (_current is { } again && again.ExpiresOn - RenewBefore > clock.GetUtcNow()) return again.Token;
            // Identity.Web merges its options when the scheme's options are first built; outside a request (background
            // jobs) that has to happen before acquiring, or it fails with IDW10503.
            _ = schemeOptions.Get(EntraAuth.GraphAppScheme);
            // tenant: "" — the authority is already the tenant's ({ENTRA_INSTANCE}{tenant}/v2.0, a generic OIDC authority in
            // MSAL). Identity.Web 4.18.0 otherwise applies the tenant id it parsed from it at request level, which MSAL
            // refuses on a generic authority (authority_type_mismatch: "Generic at the application, Aad at the request").
            using var scope = scopes.CreateScope();
            var result = await scope.ServiceProvider.GetRequiredService<ITokenAcquisition>()
                .GetAuthenticationResultForAppAsync(Scopes[0], EntraAuth.GraphAppScheme, tenant: "", tokenAcquisitionOptions: new TokenAcquisitionOptions { CancellationToken = ct });
            _current = (result.AccessToken, result.ExpiresOn);
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
        finally
        {
            _gate.Release();
        }
    }
}

/// <summary>The one pooled HTTPS client (TrustedHttp handler, CA scoped to the Entra/Graph hosts) for Graph calls.</summary>
public sealed class GraphHttpClientHolder(SentinelSettings settings) : IDisposable
{
    private readonly Lazy<HttpClient> _client = new(() => TrustedHttp.CreateClient(settings, Timeout.InfiniteTimeSpan));

    /// <summary>No client-wide timeout: each call sets its own (see <see cref="GraphRetryOptions.RequestTimeout"/>).</summary>
    public HttpClient Client => _client.Value;

    public void Dispose()
    {
        if (_client.IsValueCreated) _client.Value.Dispose();
    }
}
