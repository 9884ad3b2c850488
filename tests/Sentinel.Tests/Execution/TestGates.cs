using System.Collections.Concurrent;
using System.Threading.Channels;
using Sentinel.Features.Execution;

namespace Sentinel.Tests.Execution;

/// <summary>Per-job gates for test_gate runs, and a feed of started runs.</summary>
public sealed class TestGates
{
    private readonly ConcurrentDictionary<Guid, TaskCompletionSource> _gates = new();
    public Channel<Guid> Started { get; } = Channel.CreateUnbounded<Guid>();

    public TaskCompletionSource For(Guid jobId) => _gates.GetOrAdd(jobId, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public void Open(Guid jobId) => For(jobId).TrySetResult();

    public async Task<Guid> NextStartedAsync(int timeoutMs = 10_000)
    {
        using var cts = new CancellationTokenSource(timeoutMs);
        return await Started.Reader.ReadAsync(cts.Token);
    }
}

internal sealed class GateExecutor(TestGates gates) : IJobExecutor
{
    public string JobType => "test_gate";

    public async Task<JobOutcome> ExecuteAsync(JobRunContext run, CancellationToken ct)
    {
        await run.Progress.ReportAsync(new Dictionary<string, object?> { ["phase"] = "waiting_for_gate" }, ct);
        gates.Started.Writer.TryWrite(run.RunId);
        await gates.For(run.JobId).Task.WaitAsync(ct);
        return new JobOutcome(new Dictionary<string, object?> { ["gate"] = "opened" });
    }
}
