namespace Sentinel.Features.Execution;

/// <summary>What a finished job reports; stored in job_runs.progress and the completion audit event.</summary>
public sealed record JobOutcome(IReadOnlyDictionary<string, object?> Summary);
