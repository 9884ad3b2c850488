using Microsoft.Extensions.DependencyInjection.Extensions;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Web;

/// <summary>Builds the MVC dashboard host. It declares intent only: no executor slice is registered here.</summary>
public static class WebAppHost
{
    public const string DefaultUrls = "http://localhost:3000";

    /// <summary>The web's service registrations; the architecture test builds this same container.</summary>
    public static void ConfigureServices(IServiceCollection services, IConfiguration configuration)
    {
        var settings = SentinelSettings.FromConfiguration(configuration);
        services.TryAddSingleton(settings);
        services.AddSentinelFeatures(HostRole.Web, settings.ConnectionString);
        services.AddControllersWithViews();
        WebModules.ConfigureServices(services, configuration, settings);
    }

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        // ApplicationName pins MVC application parts (controllers, compiled views) to this assembly even when another process hosts it (tests).
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ApplicationName = typeof(WebAppHost).Assembly.GetName().Name });
        SentinelHostDefaults.Apply(builder, DefaultUrls);
        configure?.Invoke(builder);
        builder.AddSentinelTelemetry("sentinel-web");
        ConfigureServices(builder.Services, builder.Configuration);

        var app = builder.Build();
        if (app.Services.GetRequiredService<Sentinel.Web.Auth.WebSettings>().DataProtectionCert is null)
            app.Logger.LogWarning("Data Protection keys are stored UNENCRYPTED in web_data_protection_keys (they protect session and token-cache data): " +
                                  "set WEB_DATA_PROTECTION_CERT and WEB_DATA_PROTECTION_KEY to a PEM certificate and private key to encrypt them at rest");
        app.UseSentinelTelemetry();
        WebModules.Map(app);
        return app;
    }
}
