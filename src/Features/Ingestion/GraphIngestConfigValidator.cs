using System.Text.Json.Nodes;
using Sentinel.Features.Jobs;

namespace Sentinel.Features.Ingestion;

/// <summary>The graph_ingest config rules, as job creation and updates apply them.</summary>
internal sealed class GraphIngestConfigValidator : IJobConfigValidator
{
    public string JobType => JobTypes.GraphIngest;

    public IEnumerable<(string Field, string Message)> Validate(JsonObject config) => GraphIngestConfig.Validate(config);
}
