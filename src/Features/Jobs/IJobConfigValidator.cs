using System.Text.Json.Nodes;

namespace Sentinel.Features.Jobs;

/// <summary>
/// The config rules of one job type, implemented by the area that owns the job type (next to its executor's slices).
/// <see cref="JobTypes.ValidateConfig"/> finds the implementations in this assembly, so Jobs never names those areas.
/// </summary>
public interface IJobConfigValidator
{
    string JobType { get; }

    /// <summary>Field-level problems (field names as in the JSON, prefixed "config.").</summary>
    IEnumerable<(string Field, string Message)> Validate(JsonObject config);
}
