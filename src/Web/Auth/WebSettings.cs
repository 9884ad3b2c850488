namespace Sentinel.Web.Auth;

/// <summary>Web-only settings (the shared ones live in SentinelSettings). README/docs/web.md list them.</summary>
public sealed record WebSettings
{
    /// <summary>WEB_PUBLIC_URL: the dashboard's external base URL, used for the OIDC redirect URI. Default: from the request.</summary>
    public string? PublicUrl { get; init; }

    /// <summary>WEB_TRUST_FORWARDED_HEADERS=true: honour X-Forwarded-Proto/For from any proxy (default: loopback proxies only).</summary>
    public bool TrustForwardedHeaders { get; init; }

    /// <summary>WEB_SESSION_HOURS: sign-in cookie lifetime (sliding), default 8.</summary>
    public int SessionHours { get; init; } = 8;

    public static WebSettings FromConfiguration(IConfiguration config)
    {
        var hours = 8;
        if (config["WEB_SESSION_HOURS"] is { Length: > 0 } h && (!int.TryParse(h, out hours) || hours < 1 || hours > 24 * 14))
            throw new Sentinel.Features.Infrastructure.ConfigurationException("WEB_SESSION_HOURS must be a whole number of hours between 1 and 336");
        var publicUrl = config["WEB_PUBLIC_URL"];
        if (!string.IsNullOrWhiteSpace(publicUrl) && !Uri.TryCreate(publicUrl, UriKind.Absolute, out _))
            throw new Sentinel.Features.Infrastructure.ConfigurationException($"WEB_PUBLIC_URL must be an absolute URL, got '{publicUrl}'");
        return new WebSettings
        {
            PublicUrl = string.IsNullOrWhiteSpace(publicUrl) ? null : publicUrl.TrimEnd('/'),
            TrustForwardedHeaders = string.Equals(config["WEB_TRUST_FORWARDED_HEADERS"], "true", StringComparison.OrdinalIgnoreCase),
            SessionHours = hours,
        };
    }
}
