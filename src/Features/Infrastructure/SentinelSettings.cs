using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Sentinel.Features.Infrastructure;

/// <summary>Every environment variable the hosts read, with its default. README lists the same set.</summary>
public sealed record SentinelSettings
{
    public required string ConnectionString { get; init; }
    public int SchedulerPollSeconds { get; init; } = 5;
    public string WorkerApiUrl { get; init; } = "http://localhost:8081";
    public string? EntraTenantId { get; init; }
    public string? EntraClientId { get; init; }
    public string? EntraClientSecret { get; init; }
    public string EntraInstance { get; init; } = "https://login.microsoftonline.com/";
    public string GraphBaseUrl { get; init; } = "https://graph.microsoft.com/v1.0";
    public string? CaFile { get; init; }

    /// <summary>Authority URL for MSAL and OIDC discovery: {instance}/{tenant}.</summary>
    public string Authority => EntraInstance.TrimEnd('/') + "/" + (EntraTenantId ?? "common");

    public static SentinelSettings FromConfiguration(IConfiguration config)
    {
        var poll = config["SCHEDULER_POLL_SECONDS"];
        var pollSeconds = 5;
        if (!string.IsNullOrWhiteSpace(poll) &&
            (!int.TryParse(poll, NumberStyles.Integer, CultureInfo.InvariantCulture, out pollSeconds) || pollSeconds < 1 || pollSeconds > 3600))
            throw new ConfigurationException("SCHEDULER_POLL_SECONDS must be a whole number of seconds between 1 and 3600");

        var caFile = NullIfEmpty(config["SENTINEL_CA_FILE"]);
        if (caFile is not null && !File.Exists(caFile))
            throw new ConfigurationException($"SENTINEL_CA_FILE points to '{caFile}', which does not exist");

        return new SentinelSettings
        {
            ConnectionString = DatabaseUrl.ToConnectionString(config[DatabaseUrl.Variable]),
            SchedulerPollSeconds = pollSeconds,
            WorkerApiUrl = NullIfEmpty(config["WORKER_API_URL"]) ?? "http://localhost:8081",
            EntraTenantId = NullIfEmpty(config["ENTRA_TENANT_ID"]),
            EntraClientId = NullIfEmpty(config["ENTRA_CLIENT_ID"]),
            EntraClientSecret = NullIfEmpty(config["ENTRA_CLIENT_SECRET"]),
            EntraInstance = AbsoluteUrl(config, "ENTRA_INSTANCE", "https://login.microsoftonline.com/"),
            GraphBaseUrl = AbsoluteUrl(config, "GRAPH_BASE_URL", "https://graph.microsoft.com/v1.0").TrimEnd('/'),
            CaFile = caFile,
        };
    }

    private static string AbsoluteUrl(IConfiguration config, string name, string fallback)
    {
        var value = NullIfEmpty(config[name]) ?? fallback;
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != "https" && uri.Scheme != "http"))
            throw new ConfigurationException($"{name} must be an absolute http(s) URL, got '{value}'");
        return value;
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
}
