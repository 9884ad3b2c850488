using System.Text.Json.Nodes;
using FluentValidation;
using Sentinel.Features.Jobs;

namespace Sentinel.Features.Ingestion;

/// <summary>The graph_ingest config rules, as job creation, updates, run-once and the executor apply them.</summary>
internal sealed class GraphIngestConfigValidator : JobConfigValidator
{
    public override string JobType => JobTypes.GraphIngest;

    public GraphIngestConfigValidator()
    {
        OnlyKeys(GraphIngestConfig.Known);

        foreach (var (key, min, max) in GraphIngestConfig.IntKeys)
            Key(key).Must(n => n is null || TryInt(n, out var v) && v >= min && v <= max)
                .WithMessage($"{key} must be a whole number between {min} and {max}");

        foreach (var (key, max) in GraphIngestConfig.BudgetKeys)
            Key(key).Custom((node, ctx) =>
            {
                if (node is null) return;
                if (!TryInt(node, out var value) || value <= 0) ctx.AddFailure($"{key} must be > 0 (a whole number)");
                else if (value > max) ctx.AddFailure($"{key} must be at most {max}");
            });
        RuleFor(c => c).Custom((config, ctx) =>
        {
            if (TryInt(config["graph_ru_per_minute"], out var perMinute) && TryInt(config["graph_ru_per_day"], out var perDay) &&
                perMinute > 0 && perDay < perMinute)
                ctx.AddFailure("config.graph_ru_per_day", "graph_ru_per_day must be at least graph_ru_per_minute");
        });

        Key("permission_verify_per_day").Must(n => n is null ||
                n is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.Number && v.TryGetValue<double>(out var pct) && pct is >= 0 and <= 100)
            .WithMessage("permission_verify_per_day must be a number between 0 and 100 (percent of inheriting files verified per day; 0 = off)");

        var phases = string.Join(", ", GraphIngestConfig.AllPhases);
        Key("phases").Custom((node, ctx) =>
        {
            if (node is null) return;
            if (node is not JsonArray { Count: > 0 } list || list.Any(p => p is not JsonValue v || !v.TryGetValue<string>(out _)))
                ctx.AddFailure($"phases must be a non-empty array of phase names: {phases}");
            else
                foreach (var unknown in list.Select(p => p!.GetValue<string>()).Where(p => !GraphIngestConfig.AllPhases.Contains(p)))
                    ctx.AddFailure($"unknown phase '{unknown}'; expected some of: {phases}");
        });

        foreach (var key in new[] { "include_sites", "exclude_sites" })
            Key(key).Must(n => n is null || n is JsonArray a && a.All(IsSiteUrl))
                .WithMessage($"{key} must be an array of absolute site URLs (prefixes), e.g. [\"https://contoso.sharepoint.com/sites/finance\"]");

        Key("include_onedrive").Must(n => n is null || IsBool(n)).WithMessage("include_onedrive must be true or false");
    }

    private static bool IsSiteUrl(JsonNode? node) =>
        node is JsonValue v && v.TryGetValue<string>(out var s) && Uri.TryCreate(s, UriKind.Absolute, out var uri) && uri.Scheme is "https" or "http";
}
