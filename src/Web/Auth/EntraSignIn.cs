using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Identity.Client;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Web.Auth;

/// <summary>
/// OIDC authorization code + PKCE against ENTRA_INSTANCE/ENTRA_TENANT_ID. The authorize URL (state, nonce,
/// S256 challenge) is built from the discovery document; MSAL.NET redeems the code (so the user's tokens land
/// in the server-side cache) and later acquires the worker-API token silently. The ID token is validated here:
/// signature (JWKS), issuer, audience, lifetime and nonce.
/// </summary>
public sealed class EntraSignIn
{
    public const string HomeAccountClaim = "home_account_id";

    private readonly SentinelSettings _settings;
    private readonly PgTokenCache _cache;
    private readonly HttpClient _http;
    private readonly Lazy<ConfigurationManager<OpenIdConnectConfiguration>> _metadata;

    public EntraSignIn(SentinelSettings settings, PgTokenCache cache, EntraHttpClient http)
    {
        _settings = settings;
        _cache = cache;
        _http = http.Client;
        _metadata = new(() => new ConfigurationManager<OpenIdConnectConfiguration>(
            _settings.Authority + "/v2.0/.well-known/openid-configuration",
            new OpenIdConnectConfigurationRetriever(),
            new HttpDocumentRetriever(_http) { RequireHttps = _settings.EntraInstance.StartsWith("https://", StringComparison.OrdinalIgnoreCase) }));
    }

    public bool IsConfigured => _settings is { EntraTenantId: not null, EntraClientId: not null, EntraClientSecret: not null };

    /// <summary>Delegated scope of the worker API (the shared app registration exposes it).</summary>
    public string[] WorkerApiScopes => [$"api://{_settings.EntraClientId}/access_as_user"];

    public Task<OpenIdConnectConfiguration> MetadataAsync(CancellationToken ct) => _metadata.Value.GetConfigurationAsync(ct);

    public async Task<string> AuthorizeUrlAsync(string redirectUri, string state, string nonce, string codeVerifier, CancellationToken ct)
    {
        var metadata = await MetadataAsync(ct);
        var challenge = Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(codeVerifier)));
        var scope = "openid profile offline_access " + WorkerApiScopes[0];
        var query = new Dictionary<string, string?>
        {
            ["client_id"] = _settings.EntraClientId,
            ["response_type"] = "code",
            ["redirect_uri"] = redirectUri,
            ["response_mode"] = "query",
            ["scope"] = scope,
            ["state"] = state,
            ["nonce"] = nonce,
            ["code_challenge"] = challenge,
            ["code_challenge_method"] = "S256",
        };
        return Microsoft.AspNetCore.WebUtilities.QueryHelpers.AddQueryString(metadata.AuthorizationEndpoint, query);
    }

    /// <summary>Redeems the code with the PKCE verifier; the tokens go to the user's server-side cache.</summary>
    public Task<AuthenticationResult> RedeemAsync(string code, string codeVerifier, string redirectUri, CancellationToken ct) =>
        CreateApp(redirectUri).AcquireTokenByAuthorizationCode(WorkerApiScopes, code)
            .WithPkceCodeVerifier(codeVerifier)
            .ExecuteAsync(ct);

    /// <summary>Validates the ID token (signature, issuer, audience, lifetime) and its nonce; returns the user's identity.</summary>
    public async Task<ClaimsIdentity> ValidateIdTokenAsync(string idToken, string expectedNonce, CancellationToken ct)
    {
        var metadata = await MetadataAsync(ct);
        var parameters = new TokenValidationParameters
        {
            ValidIssuer = metadata.Issuer,
            ValidAudience = _settings.EntraClientId,
            IssuerSigningKeys = metadata.SigningKeys,
            ValidateIssuer = true,
            ValidateAudience = true,
            ValidateLifetime = true,
            ValidateIssuerSigningKey = true,
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            ClockSkew = TimeSpan.FromMinutes(2),
            NameClaimType = "name",
            RoleClaimType = Roles.RoleClaim,
        };
        var result = await new JsonWebTokenHandler { MapInboundClaims = false }.ValidateTokenAsync(idToken, parameters);
        if (!result.IsValid && result.Exception is SecurityTokenSignatureKeyNotFoundException)
        {
            // Keys rotated since the metadata was cached: refresh once and retry.
            _metadata.Value.RequestRefresh();
            metadata = await MetadataAsync(ct);
            parameters.IssuerSigningKeys = metadata.SigningKeys;
            result = await new JsonWebTokenHandler { MapInboundClaims = false }.ValidateTokenAsync(idToken, parameters);
        }
        if (!result.IsValid)
            throw new SignInFailedException("the ID token is not valid (" + (result.Exception?.GetType().Name ?? "unknown") + ")");
        var nonce = result.ClaimsIdentity.FindFirst("nonce")?.Value;
        if (nonce is null || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(nonce), Encoding.UTF8.GetBytes(expectedNonce)))
            throw new SignInFailedException("the ID token's nonce does not match this sign-in");
        return result.ClaimsIdentity;
    }

    /// <summary>Worker-API access token for the signed-in user from the server-side cache (refreshing if needed).</summary>
    public async Task<string> AcquireWorkerApiTokenAsync(ClaimsPrincipal user, CancellationToken ct)
    {
        var homeAccountId = user.FindFirst(HomeAccountClaim)?.Value
            ?? throw new SessionExpiredException();
        var app = CreateApp(null);
        var account = await app.GetAccountAsync(homeAccountId) ?? throw new SessionExpiredException();
        try
        {
            var result = await app.AcquireTokenSilent(WorkerApiScopes, account).ExecuteAsync(ct);
            return result.AccessToken;
        }
        catch (MsalUiRequiredException)
        {
            throw new SessionExpiredException();
        }
    }

    public async Task<string?> EndSessionUrlAsync(string postLogoutRedirectUri, CancellationToken ct)
    {
        var metadata = await MetadataAsync(ct);
        var endpoint = metadata.EndSessionEndpoint ?? _settings.Authority + "/oauth2/v2.0/logout";
        return Microsoft.AspNetCore.WebUtilities.QueryHelpers.AddQueryString(endpoint, "post_logout_redirect_uri", postLogoutRedirectUri);
    }

    public async Task ForgetAsync(ClaimsPrincipal user)
    {
        var homeAccountId = user.FindFirst(HomeAccountClaim)?.Value;
        if (homeAccountId is null || !IsConfigured) return;
        var app = CreateApp(null);
        if (await app.GetAccountAsync(homeAccountId) is { } account) await app.RemoveAsync(account);
    }

    /// <summary>One MSAL app per operation: the cache is loaded per account from PostgreSQL, so nothing is shared in memory across users.</summary>
    private IConfidentialClientApplication CreateApp(string? redirectUri)
    {
        if (!IsConfigured) throw new SignInFailedException("sign-in is not configured: set ENTRA_TENANT_ID, ENTRA_CLIENT_ID and ENTRA_CLIENT_SECRET");
        var builder = ConfidentialClientApplicationBuilder.Create(_settings.EntraClientId)
            .WithClientSecret(_settings.EntraClientSecret)
            .WithAuthority(_settings.Authority, validateAuthority: false)
            .WithInstanceDiscovery(false)
            .WithHttpClientFactory(new MsalHttpFactory(_http));
        if (redirectUri is not null) builder = builder.WithRedirectUri(redirectUri);
        var app = builder.Build();
        _cache.Bind(app.UserTokenCache);
        return app;
    }

    private sealed class MsalHttpFactory(HttpClient client) : IMsalHttpClientFactory
    {
        public HttpClient GetHttpClient() => client;
    }
}

/// <summary>The pooled HTTPS client (TrustedHttp: SENTINEL_CA_FILE + system roots) for the identity provider and the worker API.</summary>
public sealed class EntraHttpClient(SentinelSettings settings) : IDisposable
{
    private readonly Lazy<HttpClient> _client = new(() => TrustedHttp.CreateClient(settings.CaFile, TimeSpan.FromSeconds(30)));
    public HttpClient Client => _client.Value;
    public void Dispose() { if (_client.IsValueCreated) _client.Value.Dispose(); }
}

/// <summary>Sign-in could not complete; the message is safe to show (no tokens, no secrets).</summary>
public sealed class SignInFailedException(string message) : Exception(message);

/// <summary>The user's server-side tokens are gone or expired beyond refresh: sign in again.</summary>
public sealed class SessionExpiredException() : Exception("your session has expired; sign in again");
