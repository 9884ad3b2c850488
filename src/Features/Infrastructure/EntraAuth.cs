using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Identity.Client;
using Microsoft.Identity.Web;
using Microsoft.Identity.Web.Resource;
using Microsoft.IdentityModel.Tokens;

namespace Sentinel.Features.Infrastructure;

/// <summary>
/// Microsoft.Identity.Web wiring shared by web and worker, pointed at ENTRA_INSTANCE exactly as production:
/// <list type="bullet">
/// <item>Authority = {ENTRA_INSTANCE}{tenant}/v2.0 (not Instance + TenantId, which makes MSAL ask
/// login.microsoftonline.com for instance discovery);</item>
/// <item>one named HttpClient (<see cref="HttpClientName"/>, TrustedHttp: SENTINEL_CA_FILE for the Entra and Graph hosts only)
/// used by MSAL (<see cref="IMsalHttpClientFactory"/>), the OIDC / JwtBearer metadata backchannel and the AAD issuer
/// validator (<see cref="AadIssuerValidatorOptions.HttpClientName"/>);</item>
/// <item>web API tokens (<see cref="AddEntraApi"/>): v1 (sts.windows.net) and v2 issuers of the tenant (Identity.Web's
/// issuer validator), audiences {client id} and api://{client id}, signature and lifetime; then <see cref="CheckApiToken"/>:
/// a delegated token needs azp/appid = the client id (which also refuses ID tokens, which carry neither) and the scope
/// access_as_user; an app-only token (<see cref="ApiCallers.DelegatedAndApps"/> only) needs one of the Sentinel app roles.</item>
/// </list>
/// </summary>
public static class EntraAuth
{
    public const string HttpClientName = "sentinel-entra";
    public const string ApiScope = "access_as_user";

    /// <summary>
    /// The Identity.Web registration app-only Graph tokens are acquired on (a JwtBearer web-API scheme with token
    /// acquisition, as Identity.Web's daemon-in-ASP.NET-Core samples do). It never authenticates a request: no default,
    /// no policy names it.
    /// </summary>
    public const string GraphAppScheme = "EntraGraphApp";
    public static readonly string[] OperatorRoles = ["Sentinel.Operator", "Sentinel.Admin"];
    /// <summary>The app roles of the registration (allowedMemberTypes User and Application).</summary>
    public static readonly string[] AppRoles = ["Sentinel.Reader", "Sentinel.Operator", "Sentinel.Admin"];

    /// <summary>Who a bearer scheme lets in.</summary>
    public enum ApiCallers
    {
        /// <summary>Only delegated tokens of this app (a user signed in to Sentinel): the worker's control plane.</summary>
        DelegatedOnly,
        /// <summary>Delegated tokens, and app-only tokens of any app of the tenant that holds a Sentinel app role: the web's /api.</summary>
        DelegatedAndApps,
    }

    public static bool IsConfigured(SentinelSettings s) => s is { EntraTenantId: not null, EntraClientId: not null, EntraClientSecret: not null };

    /// <summary>{ENTRA_INSTANCE}{tenant}/v2.0: the authority Identity.Web and MSAL use as given.</summary>
    public static string AuthorityV2(SentinelSettings s) => s.Authority + "/v2.0";

    /// <summary>The delegated scope of the worker API (the shared app registration exposes it).</summary>
    public static string[] WorkerApiScopes(SentinelSettings s) => [$"api://{s.EntraClientId}/{ApiScope}"];

    /// <summary>The named client, MSAL's HTTP factory and the issuer validator's client: all TrustedHttp, scoped to the Entra/Graph hosts.</summary>
    public static void AddEntraHttp(IServiceCollection services, SentinelSettings settings)
    {
        if (services.Any(s => s.ServiceType == typeof(EntraHttpRegistered))) return;
        services.AddSingleton<EntraHttpRegistered>();
        services.AddHttpClient(HttpClientName, c => c.Timeout = TimeSpan.FromSeconds(30))
            .ConfigurePrimaryHttpMessageHandler(() => TrustedHttp.CreateHandler(settings));
        services.Configure<AadIssuerValidatorOptions>(o => o.HttpClientName = HttpClientName);
        services.RemoveAll<IMsalHttpClientFactory>();
        services.AddSingleton<IMsalHttpClientFactory>(p => new NamedMsalHttpClientFactory(p.GetRequiredService<IHttpClientFactory>()));
    }

    /// <summary>Identity.Web options common to both hosts.</summary>
    public static void ConfigureIdentity(MicrosoftIdentityOptions o, SentinelSettings s)
    {
        o.Authority = AuthorityV2(s);
        o.ClientId = s.EntraClientId;
        o.ClientSecret = s.EntraClientSecret;
        // No Instance / TenantId: with either set, Identity.Web ignores Authority (MergedOptions.ParseAuthorityIfNecessary)
        // and MSAL asks login.microsoftonline.com for instance discovery. Both are derived from Authority instead.
    }

    /// <summary>
    /// A bearer scheme validating Entra access tokens for this app (the worker's control plane; the web's /api/* bearer scheme).
    /// <paramref name="onRejected"/> writes the 401 body, <paramref name="onForbidden"/> the 403 body.
    /// </summary>
    public static AuthenticationBuilder AddEntraApi(this AuthenticationBuilder builder, SentinelSettings settings, string scheme, ApiCallers callers,
        Func<JwtBearerChallengeContext, string, Task> onRejected, Func<ForbiddenContext, Task> onForbidden)
    {
        AddEntraHttp(builder.Services, settings);
        builder.AddMicrosoftIdentityWebApi(o =>
        {
            o.BackchannelHttpHandler = TrustedHttp.CreateHandler(settings);
            o.RequireHttpsMetadata = settings.EntraInstance.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
            o.MapInboundClaims = false;
            o.RefreshOnIssuerKeyNotFound = true;
            o.TokenValidationParameters = new TokenValidationParameters
            {
                ValidateIssuer = true,
                ValidateAudience = true,
                // Explicit: v2 tokens carry the client id, v1 tokens the App ID URI the client asked for.
                ValidAudiences = settings.EntraClientId is { } id ? [id, $"api://{id}"] : ["(ENTRA_CLIENT_ID not set)"],
                ValidateLifetime = true,
                RequireExpirationTime = true,
                ValidateIssuerSigningKey = true,
                RequireSignedTokens = true,
                ClockSkew = TimeSpan.FromMinutes(1),
                NameClaimType = "name",
                RoleClaimType = "roles",
            };
            o.Events = new JwtBearerEvents
            {
                OnTokenValidated = context =>
                {
                    if (CheckApiToken(context.Principal!, settings.EntraClientId, callers) is { } why) context.Fail(new ApiTokenRejectedException(why));
                    return Task.CompletedTask;
                },
                OnChallenge = async context =>
                {
                    context.HandleResponse();
                    var why = context.AuthenticateFailure is null ? "a bearer token is required" : "the bearer token is not valid (" + Describe(context.AuthenticateFailure) + ")";
                    await onRejected(context, why);
                },
                OnForbidden = onForbidden,
            };
        }, o => ConfigureIdentity(o, settings), scheme);
        return builder;
    }

    /// <summary>
    /// Token acquisition for app-only Graph tokens (<see cref="GraphAppScheme"/>): the ASP.NET Core registration, in both
    /// hosts and in tests (TokenAcquirerFactory would make MSAL ask login.microsoftonline.com for instance discovery).
    /// The token cache is in memory unless the host registered another one first (the web: PostgreSQL).
    /// </summary>
    public static void AddGraphAppTokenAcquisition(IServiceCollection services, SentinelSettings settings)
    {
        if (services.Any(s => s.ServiceType == typeof(GraphAppRegistered))) return;
        services.AddSingleton<GraphAppRegistered>();
        services.AddHttpContextAccessor();
        // Identity.Web reads IConfiguration; plain containers (worker run-once, tests, benches) may not have one.
        services.TryAddSingleton<Microsoft.Extensions.Configuration.IConfiguration>(_ => new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build());
        AddEntraHttp(services, settings);
        // Before Identity.Web's registration: AddTokenAcquisition picks its ASP.NET Core host only when authentication is registered.
        var builder = services.AddAuthentication();
        builder.AddMicrosoftIdentityWebApi(o =>
            {
                o.BackchannelHttpHandler = TrustedHttp.CreateHandler(settings);
                o.RequireHttpsMetadata = settings.EntraInstance.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
                o.TokenValidationParameters.ValidAudiences = settings.EntraClientId is { } id ? [id, $"api://{id}"] : ["(ENTRA_CLIENT_ID not set)"];
            }, o => ConfigureIdentity(o, settings), GraphAppScheme)
            .EnableTokenAcquisitionToCallDownstreamApi(_ => { })
            .AddInMemoryTokenCaches();
        if (IsConfigured(settings)) WarmUpOptionsAtStart<JwtBearerOptions>(services, GraphAppScheme);
    }

    private sealed class GraphAppRegistered;

    /// <summary>
    /// The app-specific rules Identity.Web leaves to the API (learn.microsoft.com/entra/identity-platform/
    /// scenario-protected-web-api-verification-scope-app-roles): a token on behalf of a user must have been issued to this
    /// app's client (azp in v2, appid in v1) with the delegated scope; an app-only token (<see cref="IsAppOnly"/>) may come from
    /// any app of the tenant, because Entra issues one to any of them, without a roles claim, unless the API requires
    /// assignment: the Sentinel app role assigned to the caller's service principal is the gate. Returns why it is refused,
    /// or null. An ID token has neither azp/appid nor scp.
    /// </summary>
    public static string? CheckApiToken(ClaimsPrincipal principal, string? clientId, ApiCallers callers)
    {
        var azp = principal.FindFirst("azp")?.Value ?? principal.FindFirst("appid")?.Value;
        var scopes = (principal.FindFirst("scp")?.Value ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (azp is null && scopes.Length == 0) return "an ID token or a token without client and scope is not an access token for this API";
        if (IsAppOnly(principal))
        {
            if (callers == ApiCallers.DelegatedOnly)
                return "an app-only token (no delegated scope) is not accepted here: this API acts only on behalf of a signed-in user";
            if (!principal.FindAll("roles").Any(r => AppRoles.Contains(r.Value, StringComparer.Ordinal)))
                return $"the app-only token carries none of the app roles {string.Join(", ", AppRoles)}: assign one to the calling app (allowed member type Application)";
            return null;
        }
        if (azp is null || clientId is null || !string.Equals(azp, clientId, StringComparison.OrdinalIgnoreCase))
            return "the token was issued to another client (azp/appid)";
        if (!scopes.Contains(ApiScope, StringComparer.Ordinal)) return $"the token lacks the delegated scope {ApiScope} (scp)";
        return null;
    }

    /// <summary>
    /// An app acting as itself (client credentials): no delegated scope, and either the optional claim idtyp = app or, where
    /// the API did not ask for idtyp, oid = sub (both are the caller's service principal in app-only tokens; a user's sub is
    /// pairwise and never equals the oid). Access-token claims reference: learn.microsoft.com/entra/identity-platform/access-token-claims-reference.
    /// </summary>
    public static bool IsAppOnly(ClaimsPrincipal principal)
    {
        if (principal.FindFirst("scp") is not null) return false;
        if (principal.FindFirst("azp") is null && principal.FindFirst("appid") is null) return false;
        var idtyp = principal.FindFirst("idtyp")?.Value;
        if (idtyp is not null) return idtyp == "app";
        var oid = principal.FindFirst("oid")?.Value;
        return oid is not null && oid == principal.FindFirst("sub")?.Value;
    }

    /// <summary>Why a token failed, without echoing the token.</summary>
    public static string Describe(Exception e) => e switch
    {
        ApiTokenRejectedException r => r.Message,
        SecurityTokenExpiredException => "expired",
        SecurityTokenInvalidAudienceException => "wrong audience",
        SecurityTokenInvalidIssuerException => "wrong issuer",
        SecurityTokenSignatureKeyNotFoundException or SecurityTokenInvalidSignatureException => "bad signature",
        SecurityTokenNotYetValidException => "not yet valid",
        SecurityTokenMalformedException => "malformed",
        InvalidOperationException or HttpRequestException => "the identity provider's signing keys could not be fetched",
        _ when e.Message.StartsWith("IDW10201", StringComparison.Ordinal) => "the token carries neither scopes nor app roles",
        _ => "rejected",
    };

    /// <summary>
    /// Builds the authentication options of <paramref name="scheme"/> once at start: Identity.Web merges its options when
    /// they are first built, and token acquisition from a background service before any HTTP request would otherwise fail
    /// with IDW10503 ("Cannot determine the cloud Instance").
    /// </summary>
    public static void WarmUpOptionsAtStart<TOptions>(IServiceCollection services, string scheme) where TOptions : class =>
        services.AddHostedService(p => new OptionsWarmUp<TOptions>(p.GetRequiredService<IOptionsMonitor<TOptions>>(), p.GetRequiredService<SentinelSettings>(), scheme));

    private sealed class OptionsWarmUp<TOptions>(IOptionsMonitor<TOptions> monitor, SentinelSettings settings, string scheme) : IHostedService where TOptions : class
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            if (IsConfigured(settings)) _ = monitor.Get(scheme);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private sealed class NamedMsalHttpClientFactory(IHttpClientFactory factory) : IMsalHttpClientFactory
    {
        public HttpClient GetHttpClient() => factory.CreateClient(HttpClientName);
    }

    private sealed class EntraHttpRegistered;

    /// <summary>A token that passed signature/issuer/audience/lifetime validation but breaks an app rule (<see cref="CheckApiToken"/>).</summary>
    public sealed class ApiTokenRejectedException(string message) : Exception(message);
}
