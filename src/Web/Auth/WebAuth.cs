using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Identity.Web;
using Microsoft.Identity.Web.TokenCacheProviders.Distributed;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Web.Auth;

/// <summary>
/// The web's authentication, all Microsoft.Identity.Web:
/// <list type="bullet">
/// <item><c>AddMicrosoftIdentityWebApp</c>: OIDC authorization code + PKCE (response_mode=query), Authority =
/// {ENTRA_INSTANCE}{tenant}/v2.0, ID token validated by the OIDC handler with Identity.Web's issuer validator, plus the
/// nonce check Identity.Web's code redemption skips (<see cref="CheckNonce"/>);</item>
/// <item><c>EnableTokenAcquisitionToCallDownstreamApi</c>: MSAL redeems the code and acquires the worker-API token
/// (api://{client id}/access_as_user) silently later; <c>AddDistributedTokenCaches</c> over <see cref="PgDistributedCache"/>
/// (encrypted with Data Protection);</item>
/// <item>the session cookie (server-side sessions: <see cref="PgTicketStore"/>; lifetime and re-validation:
/// <see cref="SessionEvents"/>);</item>
/// <item><see cref="BearerScheme"/>: Entra access tokens for this app on /api/*: delegated (same rules as the worker's control
/// plane) or app-only from any app of the tenant holding a Sentinel app role (a SIEM, a script), chosen by the
/// <see cref="PolicyScheme"/> when the request carries <c>Authorization: Bearer</c> (<see cref="AuthenticatesByBearer(HttpContext)"/>).</item>
/// </list>
/// </summary>
public static class WebAuth
{
    public const string PolicyScheme = "Sentinel";
    public const string BearerScheme = "EntraBearer";
    public const string SignedOutCallbackPath = "/signout-callback-oidc";

    public static void AddWebAuthentication(this IServiceCollection services, SentinelSettings settings, WebSettings web)
    {
        services.AddSingleton<PgTicketStore>();
        services.AddSingleton<IDistributedCache, PgDistributedCache>();
        services.AddScoped<SessionEvents>();
        var configured = EntraAuth.IsConfigured(settings);

        var auth = services.AddAuthentication(o =>
        {
            o.DefaultScheme = PolicyScheme;
            o.DefaultChallengeScheme = PolicyScheme;
        });
        auth.AddPolicyScheme(PolicyScheme, "session cookie, or an Entra bearer token on /api", o => o.ForwardDefaultSelector = context =>
            AuthenticatesByBearer(context, configured) ? BearerScheme : CookieAuthenticationDefaults.AuthenticationScheme);

        void Cookie(CookieAuthenticationOptions o)
        {
            o.Cookie.Name = ".Sentinel.Session";
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Lax;
            o.Cookie.SecurePolicy = web.PublicHttps ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
            o.ExpireTimeSpan = web.SessionIdle;
            o.SlidingExpiration = true;
            o.LoginPath = "/account/signin";
            o.EventsType = typeof(SessionEvents);
        }
        services.AddOptions<CookieAuthenticationOptions>(CookieAuthenticationDefaults.AuthenticationScheme)
            .Configure<PgTicketStore>((o, store) => o.SessionStore = store);

        if (!configured)
        {
            // Without an app registration only the cookie scheme exists; /account/signin explains what to set.
            auth.AddCookie(CookieAuthenticationDefaults.AuthenticationScheme, Cookie);
            return;
        }

        EntraAuth.AddEntraHttp(services, settings);
        auth.AddMicrosoftIdentityWebApp(o => ConfigureOidc(o, settings, web), Cookie, OpenIdConnectDefaults.AuthenticationScheme, CookieAuthenticationDefaults.AuthenticationScheme)
            .EnableTokenAcquisitionToCallDownstreamApi(cca =>
            {
                // MSAL redeems the code with the same redirect URI the authorize request carried.
                if (web.PublicUrl is not null) cca.RedirectUri = web.PublicUrl + "/signin-oidc";
            }, EntraAuth.WorkerApiScopes(settings))
            .AddDistributedTokenCaches();
        services.Configure<MsalDistributedTokenCacheAdapterOptions>(o =>
        {
            o.Encrypt = true;                                   // Data Protection (keys encrypted at rest with WEB_DATA_PROTECTION_CERT)
            o.DisableL1Cache = true;                            // every instance reads PostgreSQL: a sign-out anywhere is seen everywhere
            o.SlidingExpiration = TimeSpan.FromDays(1);
            o.AbsoluteExpirationRelativeToNow = TimeSpan.FromDays(90);
        });

        auth.AddEntraApi(settings, BearerScheme, EntraAuth.ApiCallers.DelegatedAndApps,
            (context, why) => WriteJsonAsync(context.Response, 401, why, "unauthorized"),
            context => WriteJsonAsync(context.Response, 403, "the token lacks the app role this route needs", "forbidden"));
    }

    /// <summary>
    /// An /api request carrying <c>Authorization: Bearer</c>: authenticated by the token alone, the session cookie is ignored.
    /// Browsers never add that header by themselves, so such a request carries no ambient credential a forged cross-site
    /// request could ride on (no antiforgery token needed, <see cref="Controllers.AntiforgeryUnlessBearerAttribute"/>).
    /// </summary>
    public static bool AuthenticatesByBearer(HttpContext context) =>
        AuthenticatesByBearer(context, EntraAuth.IsConfigured(context.RequestServices.GetRequiredService<SentinelSettings>()));

    private static bool AuthenticatesByBearer(HttpContext context, bool configured) =>
        configured && WebModules.IsApi(context.Request) && context.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase);

    private static void ConfigureOidc(MicrosoftIdentityOptions o, SentinelSettings settings, WebSettings web)
    {
        EntraAuth.ConfigureIdentity(o, settings);
        o.ResponseType = "code";
        o.ResponseMode = "query";
        o.UsePkce = true;
        o.MapInboundClaims = false;
        o.SaveTokens = false;
        o.RequireHttpsMetadata = settings.EntraInstance.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
        o.BackchannelHttpHandler = TrustedHttp.CreateHandler(settings);
        o.CallbackPath = "/signin-oidc";
        o.SignedOutCallbackPath = SignedOutCallbackPath;
        o.SignedOutRedirectUri = "/account/signed-out";
        o.TokenValidationParameters.RoleClaimType = Roles.RoleClaim;
        foreach (var cookie in new[] { o.CorrelationCookie, o.NonceCookie })
        {
            // response_mode=query: the callback is a top-level GET, so Lax suffices (no SameSite=None cookie).
            cookie.SameSite = SameSiteMode.Lax;
            cookie.HttpOnly = true;
            cookie.SecurePolicy = web.PublicHttps ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
        }
        o.CorrelationCookie.Name = ".Sentinel.Oidc.Correlation.";
        o.NonceCookie.Name = ".Sentinel.Oidc.Nonce.";

        o.Events.OnRedirectToIdentityProvider += context =>
        {
            if (web.PublicUrl is not null) context.ProtocolMessage.RedirectUri = web.PublicUrl + "/signin-oidc";
            return Task.CompletedTask;
        };
        o.Events.OnRedirectToIdentityProviderForSignOut += context =>
        {
            if (web.PublicUrl is not null) context.ProtocolMessage.PostLogoutRedirectUri = web.PublicUrl + SignedOutCallbackPath;
            return Task.CompletedTask;
        };
        o.Events.OnTokenValidated += context =>
        {
            if (CheckNonce(context.SecurityToken?.Payload.Nonce, context.Nonce) is { } why) context.Fail(new NonceMismatchException(why));
            return Task.CompletedTask;
        };
        o.Events.OnRemoteFailure += context =>
        {
            context.HandleResponse();
            var reason = FailureReason(context.Failure);
            context.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Sentinel.Web.SignIn")
                .LogWarning("sign-in failed ({Reason}): {Error}: {Message}", reason, context.Failure?.GetType().Name, context.Failure?.Message);
            context.Response.Redirect("/account/signin-failed?reason=" + Uri.EscapeDataString(reason));
            return Task.CompletedTask;
        };
    }

    /// <summary>
    /// The nonce check the OIDC handler skips when Identity.Web redeems the code (<c>HandledCodeRedemption</c> bypasses
    /// <c>ProtocolValidator.ValidateTokenResponse</c>): the ID token's nonce must be present and match the nonce cookie of
    /// this browser (<paramref name="fromCookie"/> is what the handler found for it, null when no cookie matched).
    /// </summary>
    public static string? CheckNonce(string? inToken, string? fromCookie)
    {
        if (string.IsNullOrEmpty(inToken)) return "the ID token carries no nonce";
        if (string.IsNullOrEmpty(fromCookie)) return "the ID token's nonce was not issued to this browser";
        return CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(inToken), System.Text.Encoding.UTF8.GetBytes(fromCookie))
            ? null : "the ID token's nonce does not match this sign-in";
    }

    /// <summary>A short, secret-free reason code for the sign-in error page.</summary>
    private static string FailureReason(Exception? e) => e switch
    {
        NonceMismatchException => "nonce",
        Microsoft.Identity.Client.MsalException => "redeem",
        _ when e?.Message.Contains("message.State", StringComparison.Ordinal) == true => "state",
        _ when e?.Message.StartsWith("Correlation failed", StringComparison.Ordinal) == true => "expired",
        Microsoft.IdentityModel.Protocols.OpenIdConnect.OpenIdConnectProtocolException p when p.Message.Contains("error", StringComparison.Ordinal) => "refused",
        _ => "failed",
    };

    private static Task WriteJsonAsync(HttpResponse response, int status, string error, string code)
    {
        response.StatusCode = status;
        response.ContentType = "application/json";
        return response.WriteAsync(JsonSerializer.Serialize(new { error, code }, Json.Options));
    }

    /// <summary>The ID token's nonce failed <see cref="CheckNonce"/>.</summary>
    public sealed class NonceMismatchException(string message) : Exception(message);
}
