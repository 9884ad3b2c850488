namespace Sentinel.Features.Execution;

/// <summary>What a finished job reports; stored in job_runs.progress and the completion audit event.</summary>
/// <param name="Partial">Set when some targets could not be done (the others were): the run ends <c>partial</c> with this
/// short, secret-free reason as its error.</param>
public sealed record JobOutcome(IReadOnlyDictionary<string, object?> Summary, string? Partial = null);
