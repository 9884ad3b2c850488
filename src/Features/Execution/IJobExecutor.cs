using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Execution;

/// <summary>
/// Executes one job type for the scheduler (and `worker run-once`). Implementations are worker-only:
/// AddSentinelFeatures registers them for HostRole.Worker and never for the web. An executor is a thin
/// wrapper that sends executor slices (IExecutorRequest) through the mediator.
/// </summary>
public interface IJobExecutor : IWorkerService
{
    string JobType { get; }

    /// <summary>
    /// Runs the job. Throw <see cref="JobFailedException"/> for a clean, secret-free failure; an
    /// OperationCanceledException from <paramref name="ct"/> closes the run as cancelled.
    /// </summary>
    Task<JobOutcome> ExecuteAsync(JobRunContext run, CancellationToken ct);
}
