using Sentinel.Features.Infrastructure;

namespace Sentinel.Web;

/// <summary>The web's services, middleware and routes, grouped so each area adds its own lines.</summary>
internal static class WebModules
{
    public static void ConfigureServices(IServiceCollection services, IConfiguration configuration, SentinelSettings settings)
    {
    }

    public static void Map(WebApplication app)
    {
        app.UseStaticFiles();
        app.UseRouting();
        app.MapGet("/healthz", () => Results.Json(new { status = "ok" }));
        app.MapControllerRoute("default", "{controller=Home}/{action=Index}/{id?}");
    }
}
