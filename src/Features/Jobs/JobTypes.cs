using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sentinel.Features.Jobs;

/// <summary>The job types the worker can execute. A job of any other type is rejected at creation.</summary>
public static class JobTypes
{
    public const string GraphIngest = "graph_ingest";
    public const string RefreshMv = "refresh_mv";

    public static readonly IReadOnlyList<string> All = [GraphIngest, RefreshMv];

    public static bool IsKnown(string? jobType) => jobType is not null && All.Contains(jobType);

    /// <summary>Parses a job config: null/empty means {}; anything but a JSON object is an error message.</summary>
    public static (JsonObject? Config, string? Error) ParseConfig(string? json)
    {
        if (string.IsNullOrWhiteSpace(json)) return (new JsonObject(), null);
        try
        {
            return JsonNode.Parse(json) is JsonObject obj
                ? (obj, null)
                : (null, "must be a JSON object, e.g. {\"permission_batch_size\": 500}");
        }
        catch (JsonException e)
        {
            return (null, $"is not valid JSON: {e.Message}");
        }
    }
}
