using Microsoft.Extensions.DependencyInjection;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Execution;

/// <summary>
/// Finds the executor of a job type. Executors are created one by one, so one area's executor that cannot be
/// built (missing configuration) fails only its own job type, with a reason, instead of every job.
/// </summary>
public sealed class JobExecutorCatalog(IReadOnlyList<Type> implementations)
{
    public IReadOnlyList<Type> Implementations { get; } = implementations;

    public IJobExecutor Resolve(IServiceProvider scope, string jobType, Microsoft.Extensions.Logging.ILogger? logger = null)
    {
        var problems = new List<string>();
        // Last registration wins, as with ordinary DI overrides.
        foreach (var type in Implementations.Reverse())
        {
            IJobExecutor executor;
            try
            {
                executor = (IJobExecutor)ActivatorUtilities.CreateInstance(scope, type);
            }
            catch (InvalidOperationException e)
            {
                problems.Add($"{type.Name}: {e.Message}");
                Microsoft.Extensions.Logging.LoggerExtensions.LogWarning(logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance,
                    "job executor {Executor} cannot be created: {Error}", type.Name, e.Message);
                continue;
            }
            if (executor.JobType == jobType) return executor;
        }
        throw new JobFailedException("unknown_job_type", problems.Count == 0
            ? $"this worker has no executor for job type '{jobType}'"
            : $"this worker has no usable executor for job type '{jobType}' ({problems.Count} executor(s) could not be created; see the worker log)");
    }
}
