using System.Text.Json.Nodes;

namespace Sentinel.Features.Ingestion;

/// <summary>
/// The graph_ingest job's config: parsed and validated here (pure, no executor), so the web can reject a bad
/// config at creation without being able to run the job.
/// </summary>
public static class GraphIngestConfig
{
    /// <summary>Field-level problems (field names as in the JSON, prefixed "config.").</summary>
    public static IEnumerable<(string Field, string Message)> Validate(JsonObject config) => [];
}
