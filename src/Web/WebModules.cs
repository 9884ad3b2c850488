using System.Net;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;
using Sentinel.Features.Graph;
using Sentinel.Features.Infrastructure;
using Sentinel.Web.Auth;

namespace Sentinel.Web;

/// <summary>The web's services, middleware and routes, grouped so each area adds its own lines.</summary>
internal static class WebModules
{
    public static void ConfigureServices(IServiceCollection services, IConfiguration configuration, SentinelSettings settings)
    {
        var web = WebSettings.FromConfiguration(configuration);
        services.TryAddSingleton(web);

        // Data Protection keys in PostgreSQL: sessions survive restarts and work across web instances; encrypted at rest
        // with WEB_DATA_PROTECTION_CERT/KEY when set (WebAppHost warns once at start otherwise).
        var dataProtection = services.AddDataProtection().SetApplicationName("princeton-sentinel");
        if (LoadDataProtectionCertificate(web) is { } dpCert)
            dataProtection.ProtectKeysWithCertificate(dpCert).UnprotectKeysWithAnyCertificate(dpCert);
        services.AddOptions<KeyManagementOptions>().Configure<NpgsqlDataSource>((o, ds) => o.XmlRepository = new PgXmlRepository(ds));

        services.AddHttpClient(WorkerApiClient.HttpClientName, c => c.Timeout = TimeSpan.FromSeconds(30));
        services.TryAddSingleton<WorkerApiClient>();
        services.TryAddSingleton<Exports.ExportGate>();
        // Authentication first: its distributed token cache must be registered before AddGraphClient's in-memory default.
        services.AddWebAuthentication(settings, web);
        services.AddGraphClient(settings);

        services.AddAuthorization(o =>
        {
            o.AddPolicy(Roles.SignedIn, p => p.RequireAuthenticatedUser());
            o.AddPolicy(Roles.CanRead, p => p.RequireAuthenticatedUser().RequireClaim(Roles.RoleClaim, Roles.Reader, Roles.Operator, Roles.Admin));
            o.AddPolicy(Roles.CanOperate, p => p.RequireAuthenticatedUser().RequireClaim(Roles.RoleClaim, Roles.Operator, Roles.Admin));
            o.AddPolicy(Roles.CanAdminister, p => p.RequireAuthenticatedUser().RequireClaim(Roles.RoleClaim, Roles.Admin));
            // Every route needs a signed-in user with a role unless it says otherwise.
            var read = o.GetPolicy(Roles.CanRead)!;
            o.DefaultPolicy = read;
            o.FallbackPolicy = read;
        });

        services.AddAntiforgery(o =>
        {
            o.HeaderName = "X-CSRF-TOKEN";
            o.Cookie.Name = ".Sentinel.Antiforgery";
            o.Cookie.SameSite = SameSiteMode.Lax;
            o.Cookie.SecurePolicy = web.PublicHttps ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
        });
        services.AddHsts(o =>
        {
            o.MaxAge = TimeSpan.FromDays(365);
            o.IncludeSubDomains = false;
        });
        services.Configure<MvcOptions>(o =>
        {
            o.Filters.Add(new Controllers.AntiforgeryUnlessBearerAttribute());
            o.Filters.Add<Controllers.PageErrorsFilter>();
        });

        // API bodies and responses are snake_case like the worker's; a body that cannot be bound is a 400 naming the field.
        services.Configure<JsonOptions>(o =>
        {
            o.JsonSerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower;
            o.JsonSerializerOptions.DictionaryKeyPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower;
        });
        services.Configure<ApiBehaviorOptions>(o => o.InvalidModelStateResponseFactory = ctx =>
        {
            var errors = ctx.ModelState.Where(e => e.Value?.Errors.Count > 0)
                .ToDictionary(e => string.IsNullOrEmpty(e.Key) ? "body" : RequestValidation.ToSnakeCase(e.Key.TrimStart('$', '.')) is { Length: > 0 } k ? k : "body",
                              e => e.Value!.Errors.Select(x => string.IsNullOrEmpty(x.ErrorMessage) ? "is not valid" : x.ErrorMessage).ToArray());
            return new BadRequestObjectResult(new RequestValidationException(errors).ToErrorBody());
        });

        // X-Forwarded-Proto/For/Host only from loopback and WEB_TRUSTED_PROXIES (addresses / CIDR networks).
        services.Configure<ForwardedHeadersOptions>(o =>
        {
            o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto | ForwardedHeaders.XForwardedHost;
            foreach (var proxy in web.TrustedProxies) o.KnownProxies.Add(proxy);
            foreach (var network in web.TrustedNetworks) o.KnownIPNetworks.Add(network);
        });
    }

    /// <summary>WEB_DATA_PROTECTION_CERT (PEM certificate) + WEB_DATA_PROTECTION_KEY (PEM private key; or in the certificate file).</summary>
    internal static System.Security.Cryptography.X509Certificates.X509Certificate2? LoadDataProtectionCertificate(WebSettings web)
    {
        if (web.DataProtectionCert is null) return null;
        try
        {
            var cert = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(web.DataProtectionCert, web.DataProtectionKey);
            if (!cert.HasPrivateKey) throw new ConfigurationException("WEB_DATA_PROTECTION_CERT has no private key: set WEB_DATA_PROTECTION_KEY to its PEM private key");
            return cert;
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or IOException or ArgumentException)
        {
            throw new ConfigurationException($"WEB_DATA_PROTECTION_CERT / WEB_DATA_PROTECTION_KEY could not be loaded as a PEM certificate with its private key: {e.Message}");
        }
    }

    public static void Map(WebApplication app)
    {
        app.UseForwardedHeaders();
        if (app.Services.GetRequiredService<WebSettings>().PublicHttps) app.UseHsts();
        app.Use(SecurityHeaders);
        app.UseStatusCodePagesWithReExecute("/error/{0}");
        app.UseStaticFiles();
        app.UseRouting();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseWhen(c => IsApi(c.Request), api => api.UseSentinelJsonErrors());
        app.MapGet("/healthz", async (Db db, CancellationToken ct) =>
        {
            // Liveness + the database the pages render from (compose's health check).
            try
            {
                await using var connection = await db.OpenAsync(ct);
                await using var command = new NpgsqlCommand("SELECT 1", connection);
                await command.ExecuteScalarAsync(ct);
                return Results.Json(new { status = "ok", db = true });
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
            {
                return Results.Json(new { status = "degraded", db = false }, statusCode: 503);
            }
        }).AllowAnonymous();
        app.MapControllers();
    }

    internal static bool IsApi(HttpRequest request) => request.Path.StartsWithSegments("/api");

    private static Task SecurityHeaders(HttpContext context, Func<Task> next)
    {
        var settings = context.RequestServices.GetRequiredService<SentinelSettings>();
        var identity = new Uri(settings.EntraInstance).GetLeftPart(UriPartial.Authority);
        context.Response.OnStarting(() =>
        {
            var h = context.Response.Headers;
            // No inline script or style anywhere; the sign-out form redirects to the identity provider's logout.
            h.ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
                                      $"connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self' {identity}; frame-ancestors 'none'";
            h.XContentTypeOptions = "nosniff";
            h.XFrameOptions = "DENY";
            h["Referrer-Policy"] = "strict-origin-when-cross-origin";
            h["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()";
            if (!context.Request.Path.StartsWithSegments("/css") && !context.Request.Path.StartsWithSegments("/lib") && !context.Request.Path.StartsWithSegments("/js"))
                h.CacheControl = "no-store";
            return Task.CompletedTask;
        });
        return next();
    }
}
