using System.Text.Json;
using System.Text.Json.Nodes;
using FluentValidation;

namespace Sentinel.Features.Jobs;

/// <summary>
/// The config rules of one job type: a FluentValidation validator over the config object, written by the area that
/// owns the job type next to its executor. <see cref="JobConfigRules"/> finds the implementations in this assembly,
/// so Jobs never names those areas. Failures name the key as <c>config.&lt;key&gt;</c>.
/// </summary>
internal abstract class JobConfigValidator : AbstractValidator<JsonObject>
{
    public abstract string JobType { get; }

    /// <summary>Reports every key not in <paramref name="known"/> (a typo would otherwise be ignored silently).</summary>
    protected void OnlyKeys(IReadOnlyCollection<string> known) =>
        RuleFor(c => c).Custom((config, ctx) =>
        {
            foreach (var (key, _) in config)
                if (!known.Contains(key))
                    ctx.AddFailure($"config.{key}", $"unknown key '{key}'; known keys: {string.Join(", ", known.Order())}");
        });

    /// <summary>The key's value, when present and not null.</summary>
    protected IRuleBuilderInitial<JsonObject, JsonNode?> Key(string key) =>
        RuleFor(c => c[key]).Configure(rule => rule.PropertyName = $"config.{key}");

    /// <summary>A JSON number with no fraction that fits an int.</summary>
    public static bool TryInt(JsonNode? node, out int value)
    {
        value = 0;
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.Number) return false;
        if (v.TryGetValue<int>(out value)) return true;
        if (v.TryGetValue<double>(out var d) && d == Math.Floor(d) && d is >= int.MinValue and <= int.MaxValue) { value = (int)d; return true; }
        return false;
    }

    public static bool IsBool(JsonNode? node) => node is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False;
}
