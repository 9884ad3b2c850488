using System.Text.Json;
using System.Text.Json.Nodes;
using static Sentinel.Features.Jobs.JobConfigValidator;

namespace Sentinel.Features.Ingestion;

/// <summary>
/// The graph_ingest job's config keys (the tables below: add a key there, its rule in
/// <see cref="GraphIngestConfigValidator"/> unless it is a whole number, and its option in <see cref="Parse"/>) and their
/// parsing (pure, no executor), so the web can reject a bad config at creation without being able to run the job.
/// Every key is optional; docs/ingestion.md lists them.
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

    internal static readonly (string Key, int Min, int Max)[] IntKeys =
    [
        ("drive_concurrency", 1, 64),
        ("drive_missing_runs", 1, 1000),
        ("permission_batch_size", 20, 20_000),
        ("permission_concurrency", 1, 64),
        ("permission_max_files", 0, 100_000_000),
        ("permission_rescan_after_hours", 0, 87_600),
        ("time_budget_seconds", 1, 7 * 86_400),
    ];

    /// <summary>The tenant's RU budget (GraphRuBudget): each must be > 0; defaults come from tenant_licences (GraphRuTiers).</summary>
    internal static readonly (string Key, int Max)[] BudgetKeys =
    [
        ("graph_ru_per_minute", 10_000_000),
        ("graph_ru_per_day", 2_000_000_000),
        ("tenant_licences", 100_000_000),
    ];

    internal static readonly HashSet<string> Known =
        [.. IntKeys.Select(k => k.Key), .. BudgetKeys.Select(k => k.Key), "phases", "include_sites", "exclude_sites", "include_onedrive",
            "permission_verify_per_day"];

    private static readonly GraphIngestConfigValidator Validator = new();

    /// <summary>Parses a (validated) config into options with defaults.</summary>
    public static GraphIngestOptions Parse(JsonObject? config)
    {
        config ??= new JsonObject();
        var problems = Validator.Validate(config).Errors;
        if (problems.Count > 0)
            throw new Infrastructure.RequestValidationException(problems.GroupBy(p => p.PropertyName)
                .ToDictionary(g => g.Key, g => g.Select(p => p.ErrorMessage).ToArray()));
        int Int(string key, int fallback) => config.TryGetPropertyValue(key, out var n) && n is not null && TryInt(n, out var v) ? v : fallback;
        string[] Strings(string key) => config[key] is JsonArray a ? a.Select(x => x!.GetValue<string>()).ToArray() : [];
        var d = new GraphIngestOptions();
        int? licences = config["tenant_licences"] is JsonNode l && TryInt(l, out var lv) ? lv : null;
        var (tierMinute, tierDay) = Graph.GraphRuTiers.For(licences ?? Graph.GraphRuTiers.DefaultLicences);
        return d with
        {
            TenantLicences = licences,
            RuPerMinute = Int("graph_ru_per_minute", tierMinute),
            RuPerDay = Int("graph_ru_per_day", (int)tierDay),
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
}

/// <summary>The graph_ingest options with their defaults (see docs/ingestion.md).</summary>
public sealed record GraphIngestOptions
{
    public string[] Phases { get; init; } = [.. GraphIngestConfig.AllPhases];
    /// <summary>
    /// Drives enumerated by delta at the same time. 8: at 150 ms of Graph latency the incremental run of a 1M-item
    /// tenant took 80 s with 4 and 48 s with 8; at zero latency both are ≈ 10 s (issue 11, bench/RESULTS.md).
    /// </summary>
    public int DriveConcurrency { get; init; } = 8;
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
    /// <summary>Licensed users of the tenant: picks the RU tier (≤ 1,000 when unset).</summary>
    public int? TenantLicences { get; init; }
    /// <summary>The tenant's RU per minute for this app, shared by every process (GraphRuBudget).</summary>
    public int RuPerMinute { get; init; } = Graph.GraphRuTiers.For(Graph.GraphRuTiers.DefaultLicences).PerMinute;
    /// <summary>The tenant's RU per UTC day for this app.</summary>
    public int RuPerDay { get; init; } = (int)Graph.GraphRuTiers.For(Graph.GraphRuTiers.DefaultLicences).PerDay;

    public bool Runs(string phase) => Phases.Contains(phase);

    /// <summary>Scope filter on a site's webUrl (prefix match, case-insensitive).</summary>
    public bool SiteInScope(string? webUrl)
    {
        var url = webUrl ?? "";
        if (IncludeSites.Length > 0 && !IncludeSites.Any(p => url.StartsWith(p.TrimEnd('/'), StringComparison.OrdinalIgnoreCase))) return false;
        return !ExcludeSites.Any(p => url.StartsWith(p.TrimEnd('/'), StringComparison.OrdinalIgnoreCase));
    }
}
