using System.Text.Json.Nodes;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Scheduling;

/// <summary>
/// Executes one job type for the scheduler (and `worker run-once`). Implementations are worker-only:
/// AddSentinelFeatures registers them for HostRole.Worker and never for the web. An executor is a thin
/// wrapper that sends executor slices (IExecutorRequest) through the mediator.
/// </summary>
public interface IJobExecutor
{
    string JobType { get; }

    /// <summary>
    /// Runs the job. Throw <see cref="JobFailedException"/> for a clean, secret-free failure; an
    /// OperationCanceledException from <paramref name="ct"/> closes the run as cancelled.
    /// </summary>
    Task<JobOutcome> ExecuteAsync(JobRunContext run, CancellationToken ct);
}

public sealed record JobRunContext(Guid RunId, Guid JobId, JsonObject Config, Actor Actor, IRunProgress Progress);

/// <summary>What a finished job reports; stored in job_runs.progress and the completion audit event.</summary>
/// <param name="Partial">Set when some targets could not be done (the others were): the run ends <c>partial</c> with this
/// short, secret-free reason as its error.</param>
public sealed record JobOutcome(IReadOnlyDictionary<string, object?> Summary, string? Partial = null);

/// <summary>Live progress of a run: merged into job_runs.progress, heartbeat_at bumped. Cheap enough to call per page.</summary>
public interface IRunProgress
{
    Task ReportAsync(IReadOnlyDictionary<string, object?> fields, CancellationToken ct);

    /// <summary>Writes an audit event attributed to the run's actor (phase milestones, counts).</summary>
    Task AuditAsync(string action, object details, CancellationToken ct);
}

/// <summary>A job failure a user can act on: a short reason code and a message with no secrets in it.</summary>
public sealed class JobFailedException(string code, string message, Exception? inner = null) : Exception(message, inner)
{
    public string Code { get; } = code;
}
