using System.Globalization;
using System.Net;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Web.Auth;

/// <summary>Web-only settings (the shared ones live in SentinelSettings). README/docs/web.md list them.</summary>
public sealed record WebSettings
{
    /// <summary>WEB_PUBLIC_URL: the dashboard's external base URL, used for the OIDC redirect URI. Default: from the request.</summary>
    public string? PublicUrl { get; init; }

    /// <summary>WEB_PUBLIC_URL is https: Secure cookies always, HSTS sent.</summary>
    public bool PublicHttps => PublicUrl?.StartsWith("https://", StringComparison.OrdinalIgnoreCase) == true;

    /// <summary>WEB_TRUSTED_PROXIES: addresses / CIDR networks whose X-Forwarded-* headers are honoured (default: loopback only).</summary>
    public IReadOnlyList<IPAddress> TrustedProxies { get; init; } = [];
    public IReadOnlyList<System.Net.IPNetwork> TrustedNetworks { get; init; } = [];

    /// <summary>WEB_SESSION_HOURS: absolute session lifetime from sign-in, default 8 (1–336).</summary>
    public int SessionHours { get; init; } = 8;

    /// <summary>WEB_SESSION_IDLE_MINUTES: sliding (idle) lifetime inside the absolute one, default 60 (5–1440).</summary>
    public TimeSpan SessionIdle { get; init; } = TimeSpan.FromMinutes(60);

    /// <summary>WEB_SESSION_REVALIDATE_MINUTES: how often a session is re-validated against Entra, default 5 (1–15).</summary>
    public TimeSpan Revalidate { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>WEB_DATA_PROTECTION_CERT / WEB_DATA_PROTECTION_KEY: PEM certificate + private key encrypting the Data Protection keys at rest.</summary>
    public string? DataProtectionCert { get; init; }
    public string? DataProtectionKey { get; init; }

    public static WebSettings FromConfiguration(IConfiguration config)
    {
        var hours = Int(config, "WEB_SESSION_HOURS", 8, 1, 24 * 14, "hours");
        var idle = Int(config, "WEB_SESSION_IDLE_MINUTES", 60, 5, 24 * 60, "minutes");
        var revalidate = Int(config, "WEB_SESSION_REVALIDATE_MINUTES", 5, 1, 15, "minutes");
        var publicUrl = config["WEB_PUBLIC_URL"];
        if (!string.IsNullOrWhiteSpace(publicUrl) && (!Uri.TryCreate(publicUrl, UriKind.Absolute, out var pu) || pu.Scheme is not ("http" or "https")))
            throw new ConfigurationException($"WEB_PUBLIC_URL must be an absolute http(s) URL, got '{publicUrl}'");
        if (!string.IsNullOrWhiteSpace(config["WEB_TRUST_FORWARDED_HEADERS"]))
            throw new ConfigurationException("WEB_TRUST_FORWARDED_HEADERS was replaced by WEB_TRUSTED_PROXIES: list the proxy addresses or networks (e.g. 10.0.0.0/8,172.16.0.0/12)");

        var proxies = new List<IPAddress>();
        var networks = new List<System.Net.IPNetwork>();
        foreach (var entry in (config["WEB_TRUSTED_PROXIES"] ?? "").Split([',', ' ', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (entry.Contains('/'))
            {
                if (!System.Net.IPNetwork.TryParse(entry, out var network))
                    throw new ConfigurationException($"WEB_TRUSTED_PROXIES: '{entry}' is not a network in CIDR form (e.g. 10.0.0.0/8)");
                networks.Add(network);
            }
            else if (IPAddress.TryParse(entry, out var address)) proxies.Add(address);
            else throw new ConfigurationException($"WEB_TRUSTED_PROXIES: '{entry}' is not an IP address or CIDR network");
        }

        var cert = Blank(config["WEB_DATA_PROTECTION_CERT"]);
        var key = Blank(config["WEB_DATA_PROTECTION_KEY"]);
        if (key is not null && cert is null) throw new ConfigurationException("WEB_DATA_PROTECTION_KEY is set but WEB_DATA_PROTECTION_CERT is not: set both (PEM files)");
        foreach (var (name, path) in new[] { ("WEB_DATA_PROTECTION_CERT", cert), ("WEB_DATA_PROTECTION_KEY", key) })
            if (path is not null && !File.Exists(path)) throw new ConfigurationException($"{name} points to '{path}', which does not exist");

        return new WebSettings
        {
            PublicUrl = string.IsNullOrWhiteSpace(publicUrl) ? null : publicUrl.TrimEnd('/'),
            TrustedProxies = proxies,
            TrustedNetworks = networks,
            SessionHours = hours,
            SessionIdle = TimeSpan.FromMinutes(Math.Min(idle, hours * 60)),
            Revalidate = TimeSpan.FromMinutes(revalidate),
            DataProtectionCert = cert,
            DataProtectionKey = key,
        };
    }

    private static int Int(IConfiguration config, string name, int fallback, int min, int max, string unit)
    {
        var raw = config[name];
        if (string.IsNullOrWhiteSpace(raw)) return fallback;
        if (!int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) || v < min || v > max)
            throw new ConfigurationException($"{name} must be a whole number of {unit} between {min} and {max}");
        return v;
    }

    private static string? Blank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
}
