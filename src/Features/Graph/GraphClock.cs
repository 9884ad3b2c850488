namespace Sentinel.Features.Graph;

/// <summary>
/// The clock of the Graph call path (retry delays, timeouts, throttle pauses, RU budget windows): a keyed
/// <see cref="TimeProvider"/> service. It defaults to the host's TimeProvider; tests that freeze the host clock
/// for run timestamps give Graph a moving one, and retry tests give it a FakeTimeProvider.
/// </summary>
public static class GraphClock
{
    public const string Key = "graph";
}
