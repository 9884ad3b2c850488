using System.Text.Json.Nodes;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Execution;

/// <summary>What an executor gets for one run: ids, the job's config, who triggered it, and where to report progress.</summary>
public sealed record JobRunContext(Guid RunId, Guid JobId, JsonObject Config, Actor Actor, IRunProgress Progress);
