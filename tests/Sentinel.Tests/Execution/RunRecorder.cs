using System.Collections.Concurrent;
using System.Diagnostics;
using Sentinel.Features.Execution;

namespace Sentinel.Tests.Execution;

/// <summary>
/// Real-time intervals of test_record runs per job. Duration is simulated work, not a wait for something to happen:
/// a run must last long enough that two overlapping runs of one job would show as intersecting intervals.
/// </summary>
public sealed class RunRecorder
{
    public ConcurrentBag<(Guid JobId, Guid RunId, long Start, long End)> Intervals { get; } = [];
    public TimeSpan Duration { get; set; } = TimeSpan.FromMilliseconds(15);
}

internal sealed class RecordingExecutor(RunRecorder recorder) : IJobExecutor
{
    public string JobType => "test_record";

    public async Task<JobOutcome> ExecuteAsync(JobRunContext run, CancellationToken ct)
    {
        var start = Stopwatch.GetTimestamp();
        await Task.Delay(recorder.Duration, ct);
        recorder.Intervals.Add((run.JobId, run.RunId, start, Stopwatch.GetTimestamp()));
        return new JobOutcome(new Dictionary<string, object?>());
    }
}
