namespace Sentinel.Web.Exports;

/// <summary>
/// At most WEB_MAX_CONCURRENT_EXPORTS (default 3) CSV exports stream at once per web instance: an export holds a
/// database connection and a client connection for as long as the download lasts, so a burst of them must not
/// starve the pages. A request over the limit gets 429 with Retry-After at once (no queueing).
/// </summary>
public sealed class ExportGate
{
    private readonly SemaphoreSlim _slots;

    public ExportGate(IConfiguration configuration)
    {
        var max = 3;
        if (configuration["WEB_MAX_CONCURRENT_EXPORTS"] is { Length: > 0 } v && (!int.TryParse(v, out max) || max < 1 || max > 64))
            throw new Sentinel.Features.Infrastructure.ConfigurationException("WEB_MAX_CONCURRENT_EXPORTS must be a whole number between 1 and 64");
        Limit = max;
        _slots = new SemaphoreSlim(max, max);
    }

    public int Limit { get; }

    /// <summary>A slot (dispose to release) or null when every slot is taken.</summary>
    public IDisposable? TryEnter() => _slots.Wait(0) ? new Slot(_slots) : null;

    private sealed class Slot(SemaphoreSlim slots) : IDisposable
    {
        private int _released;
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) slots.Release();
        }
    }
}
