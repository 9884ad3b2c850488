using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;

namespace Sentinel.TestSupport;

/// <summary>
/// A FakeTimeProvider that reports every timer the code under test starts (Task.Delay, timeouts), so a test
/// advances the clock exactly when something waits on it and asserts how long it meant to wait — no real sleeping.
/// </summary>
public sealed class WaitingFakeTime : FakeTimeProvider
{
    private readonly Channel<TimeSpan> _timers = Channel.CreateUnbounded<TimeSpan>();

    public WaitingFakeTime() : base(new DateTimeOffset(2026, 3, 2, 10, 0, 0, TimeSpan.Zero)) { }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        Started(dueTime);
        // CancellationTokenSource(delay, TimeProvider) creates its timer idle and starts it with Change.
        return new Recording(timer, this);
    }

    private void Started(TimeSpan dueTime)
    {
        if (dueTime != Timeout.InfiniteTimeSpan) _timers.Writer.TryWrite(dueTime);
    }

    private sealed class Recording(ITimer inner, WaitingFakeTime owner) : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            owner.Started(dueTime);
            return inner.Change(dueTime, period);
        }

        public void Dispose() => inner.Dispose();
        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    /// <summary>Forgets the timers started so far (a test starts from a clean slate).</summary>
    public void Forget()
    {
        while (_timers.Reader.TryRead(out _)) { }
    }

    /// <summary>The next timer started whose due time is not one of <paramref name="ignore"/> (e.g. the pipeline's timeouts).</summary>
    public async Task<TimeSpan> NextWaitAsync(params TimeSpan[] ignore)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var skipped = new List<TimeSpan>();
        while (true)
        {
            TimeSpan due;
            try { due = await _timers.Reader.ReadAsync(cts.Token); }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"nothing waited on the fake clock within 30 s (timers skipped: {string.Join(", ", skipped)})");
            }
            if (!ignore.Contains(due)) return due;
            skipped.Add(due);
        }
    }

    /// <summary>Waits for the next such timer and advances the clock by its due time; returns it.</summary>
    public async Task<TimeSpan> AdvanceThroughNextWaitAsync(params TimeSpan[] ignore)
    {
        var due = await NextWaitAsync(ignore);
        Advance(due);
        return due;
    }
}
