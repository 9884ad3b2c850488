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

        // Data Protection keys in PostgreSQL: sessions survive restarts and work across web instances.
        services.AddDataProtection().SetApplicationName("princeton-sentinel");
        services.AddOptions<KeyManagementOptions>().Configure<NpgsqlDataSource>((o, ds) => o.XmlRepository = new PgXmlRepository(ds));

        services.TryAddSingleton<EntraHttpClient>();
        services.TryAddSingleton<PgTokenCache>();
        services.TryAddSingleton<EntraSignIn>();
        services.TryAddSingleton<WorkerApiClient>();
        services.TryAddSingleton<Exports.ExportGate>();
        services.AddGraphClient(settings);

        services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme)
            .AddCookie(o =>
            {
                o.Cookie.Name = ".Sentinel.Session";
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Lax;
                o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                o.ExpireTimeSpan = TimeSpan.FromHours(web.SessionHours);
                o.SlidingExpiration = true;
                o.LoginPath = "/account/signin";
                o.Events.OnRedirectToLogin = ctx =>
                {
                    if (IsApi(ctx.Request)) ctx.Response.StatusCode = StatusCodes.Status401Unauthorized;
                    else ctx.Response.Redirect(ctx.RedirectUri);
                    return Task.CompletedTask;
                };
                o.Events.OnRedirectToAccessDenied = ctx =>
                {
                    // No redirect: the status-code page renders the friendly 403 in place.
                    ctx.Response.StatusCode = StatusCodes.Status403Forbidden;
                    return Task.CompletedTask;
                };
            });

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
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        });
        services.Configure<MvcOptions>(o =>
        {
            o.Filters.Add(new AutoValidateAntiforgeryTokenAttribute());
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
                .ToDictionary(e => string.IsNullOrEmpty(e.Key) ? "body" : ValidationBehavior<object, object>.ToSnakeCase(e.Key.TrimStart('$', '.')) is { Length: > 0 } k ? k : "body",
                              e => e.Value!.Errors.Select(x => string.IsNullOrEmpty(x.ErrorMessage) ? "is not valid" : x.ErrorMessage).ToArray());
            return new BadRequestObjectResult(new RequestValidationException(errors).ToErrorBody());
        });

        services.Configure<ForwardedHeadersOptions>(o =>
        {
            o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto | ForwardedHeaders.XForwardedHost;
            if (web.TrustForwardedHeaders)
            {
                o.KnownIPNetworks.Clear();
                o.KnownProxies.Clear();
            }
        });
    }

    public static void Map(WebApplication app)
    {
        app.UseForwardedHeaders();
        app.Use(SecurityHeaders);
        app.UseStatusCodePagesWithReExecute("/error/{0}");
        app.UseStaticFiles();
        app.UseRouting();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseWhen(c => IsApi(c.Request), api => api.UseSentinelJsonErrors());
        app.MapGet("/healthz", () => Results.Json(new { status = "ok" })).AllowAnonymous();
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
