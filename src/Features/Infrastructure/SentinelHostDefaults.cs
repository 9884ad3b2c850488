using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace Sentinel.Features.Infrastructure;

/// <summary>What both hosts do alike: listen on a documented default unless ASPNETCORE_URLS says otherwise, one-line UTC logs to stdout.</summary>
public static class SentinelHostDefaults
{
    public static void Apply(WebApplicationBuilder builder, string defaultUrls)
    {
        if (string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_URLS"]) && string.IsNullOrEmpty(builder.Configuration["urls"]))
            builder.WebHost.UseUrls(defaultUrls);
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ "; o.UseUtcTimestamp = true; });
    }
}
