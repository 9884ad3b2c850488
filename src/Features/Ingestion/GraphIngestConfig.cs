using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sentinel.Features.Ingestion;

/// <summary>
/// The graph_ingest job's config: parsed and validated here (pure, no executor), so the web can reject a bad
/// config at creation without being able to run the job. Every key is optional; docs/ingestion.md lists them.
/// </summary>
public static class GraphIngestConfig
{
    public static readonly IReadOnlyList<string> AllPhases =
        [Phases.Users, Phases.Groups, Phases.Sites, Phases.Drives, Phases.DriveItems, Phases.Permissions, Phases.RefreshViews];

    public static class Phases
    {
        public const string Users = "users";
        public const string Groups = "groups";
        public const string Sites = "sites";
        public const string Drives = "drives";
        public const string DriveItems = "drive_items";
        public const string Permissions = "permissions";
        public const string RefreshViews = "refresh_views";
    }

    private static readonly (string Key, int Min, int Max)[] IntKeys =
    [
        ("drive_concurrency", 1, 64),
        ("drive_missing_runs", 1, 1000),
        ("permission_batch_size", 20, 20_000),
        ("permission_concurrency", 1, 64),
        ("permission_max_files", 0, 100_000_000),
        ("permission_rescan_after_hours", 0, 87_600),
        ("time_budget_seconds", 1, 7 * 86_400),
    ];

    private static readonly HashSet<string> Known =
        [.. IntKeys.Select(k => k.Key), "phases", "include_sites", "exclude_sites", "include_onedrive", "permission_verify_per_day"];

    /// <summary>Field-level problems (field names as in the JSON, prefixed "config.").</summary>
    public static IEnumerable<(string Field, string Message)> Validate(JsonObject config)
    {
        foreach (var (key, _) in config)
            if (!Known.Contains(key))
                yield return ($"config.{key}", $"unknown key '{key}'; known keys: {string.Join(", ", Known.Order())}");

        foreach (var (key, min, max) in IntKeys)
        {
            if (!config.TryGetPropertyValue(key, out var node) || node is null) continue;
            if (!TryInt(node, out var value) || value < min || value > max)
                yield return ($"config.{key}", $"{key} must be a whole number between {min} and {max}");
        }

        if (config.TryGetPropertyValue("permission_verify_per_day", out var verify) && verify is not null &&
            (verify is not JsonValue vv || vv.GetValueKind() != JsonValueKind.Number || !vv.TryGetValue<double>(out var pct) || pct is < 0 or > 100))
            yield return ("config.permission_verify_per_day",
                "permission_verify_per_day must be a number between 0 and 100 (percent of inheriting files verified per day; 0 = off)");

        if (config.TryGetPropertyValue("phases", out var phases) && phases is not null)
        {
            if (phases is not JsonArray arr || arr.Count == 0 || arr.Any(p => p is not JsonValue v || !v.TryGetValue<string>(out _)))
                yield return ("config.phases", $"phases must be a non-empty array of phase names: {string.Join(", ", AllPhases)}");
            else
                foreach (var p in arr.Select(p => p!.GetValue<string>()).Where(p => !AllPhases.Contains(p)))
                    yield return ("config.phases", $"unknown phase '{p}'; expected some of: {string.Join(", ", AllPhases)}");
        }

        foreach (var key in new[] { "include_sites", "exclude_sites" })
        {
            if (!config.TryGetPropertyValue(key, out var node) || node is null) continue;
            if (node is not JsonArray arr || arr.Any(u => u is not JsonValue v || !v.TryGetValue<string>(out var s) ||
                    !Uri.TryCreate(s, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http")))
                yield return ($"config.{key}", $"{key} must be an array of absolute site URLs (prefixes), e.g. [\"https://contoso.sharepoint.com/sites/finance\"]");
        }

        if (config.TryGetPropertyValue("include_onedrive", out var od) && od is not null &&
            (od is not JsonValue v2 || v2.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False)))
            yield return ("config.include_onedrive", "include_onedrive must be true or false");
    }

    /// <summary>Parses a (validated) config into options with defaults.</summary>
    public static GraphIngestOptions Parse(JsonObject? config)
    {
        config ??= new JsonObject();
        var problems = Validate(config).ToList();
        if (problems.Count > 0)
            throw new Infrastructure.RequestValidationException(problems.GroupBy(p => p.Field)
                .ToDictionary(g => g.Key, g => g.Select(p => p.Message).ToArray()));
        int Int(string key, int fallback) => config.TryGetPropertyValue(key, out var n) && n is not null && TryInt(n, out var v) ? v : fallback;
        string[] Strings(string key) => config[key] is JsonArray a ? a.Select(x => x!.GetValue<string>()).ToArray() : [];
        var d = new GraphIngestOptions();
        return d with
        {
            Phases = config["phases"] is JsonArray ? Strings("phases").Distinct().ToArray() : d.Phases,
            DriveConcurrency = Int("drive_concurrency", d.DriveConcurrency),
            DriveMissingRuns = Int("drive_missing_runs", d.DriveMissingRuns),
            PermissionBatchSize = Int("permission_batch_size", d.PermissionBatchSize),
            PermissionConcurrency = Int("permission_concurrency", d.PermissionConcurrency),
            PermissionMaxFiles = Int("permission_max_files", d.PermissionMaxFiles),
            PermissionRescanAfterHours = Int("permission_rescan_after_hours", d.PermissionRescanAfterHours),
            TimeBudgetSeconds = Int("time_budget_seconds", d.TimeBudgetSeconds),
            IncludeSites = Strings("include_sites"),
            ExcludeSites = Strings("exclude_sites"),
            IncludeOneDrive = config["include_onedrive"] is JsonValue b ? b.GetValue<bool>() : d.IncludeOneDrive,
            PermissionVerifyPercentPerDay = config["permission_verify_per_day"] is JsonValue pv ? pv.GetValue<double>() : d.PermissionVerifyPercentPerDay,
        };
    }

    private static bool TryInt(JsonNode node, out int value)
    {
        value = 0;
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.Number) return false;
        if (v.TryGetValue<int>(out value)) return true;
        if (v.TryGetValue<double>(out var d) && d == Math.Floor(d) && d is >= int.MinValue and <= int.MaxValue) { value = (int)d; return true; }
        return false;
    }
}

/// <summary>The graph_ingest options with their defaults (see docs/ingestion.md).</summary>
public sealed record GraphIngestOptions
{
    public string[] Phases { get; init; } = [.. GraphIngestConfig.AllPhases];
    /// <summary>Drives enumerated by delta at the same time.</summary>
    public int DriveConcurrency { get; init; } = 4;
    /// <summary>A drive missing from this many drive listings in a row (its site/user answering) is soft-deleted.</summary>
    public int DriveMissingRuns { get; init; } = 3;
    /// <summary>Files whose permissions are fetched and committed together (in $batch requests of 20).</summary>
    public int PermissionBatchSize { get; init; } = 400;
    /// <summary>$batch requests in flight during a permission scan.</summary>
    public int PermissionConcurrency { get; init; } = 8;
    /// <summary>At most this many files per run (0 = no limit other than the time budget).</summary>
    public int PermissionMaxFiles { get; init; } = 0;
    /// <summary>Files scanned longer ago than this are rescanned (stalest first) after new and changed ones.</summary>
    public int PermissionRescanAfterHours { get; init; } = 24;
    /// <summary>Rolling verification: percent of inheriting files checked against their hierarchy root per day (spare budget).</summary>
    public double PermissionVerifyPercentPerDay { get; init; } = 1;
    /// <summary>The permission scan stops starting new batches once the run is this old.</summary>
    public int TimeBudgetSeconds { get; init; } = 3600;
    public string[] IncludeSites { get; init; } = [];
    public string[] ExcludeSites { get; init; } = [];
    public bool IncludeOneDrive { get; init; } = true;

    public bool Runs(string phase) => Phases.Contains(phase);

    /// <summary>Scope filter on a site's webUrl (prefix match, case-insensitive).</summary>
    public bool SiteInScope(string? webUrl)
    {
        var url = webUrl ?? "";
        if (IncludeSites.Length > 0 && !IncludeSites.Any(p => url.StartsWith(p.TrimEnd('/'), StringComparison.OrdinalIgnoreCase))) return false;
        return !ExcludeSites.Any(p => url.StartsWith(p.TrimEnd('/'), StringComparison.OrdinalIgnoreCase));
    }
}
