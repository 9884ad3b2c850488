using System.Globalization;
using System.Net.Http.Headers;

namespace Sentinel.Features.Graph;

/// <summary>Retry-After as a delay: delta-seconds or an HTTP date (RFC 9110 §10.2.3), on a response or inside a $batch answer.</summary>
public static class GraphRetryAfter
{
    /// <summary>From response headers; an HTTP date is taken relative to the response's Date header, else <paramref name="now"/>.</summary>
    public static TimeSpan? From(HttpResponseHeaders headers, DateTimeOffset now)
    {
        var ra = headers.RetryAfter;
        if (ra is null)
        {
            // A malformed value lands in NonValidated; accept a bare decimal too.
            return headers.NonValidated.TryGetValues("Retry-After", out var raw) ? Parse(raw.ToString(), now) : null;
        }
        if (ra.Delta is { } delta) return delta;
        return ra.Date is { } date ? UntilDate(date, headers.Date ?? now) : null;
    }

    /// <summary>From a header value: "120", "1.5" or "Wed, 21 Oct 2026 07:28:00 GMT".</summary>
    public static TimeSpan? Parse(string? value, DateTimeOffset now)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
            return seconds >= 0 ? TimeSpan.FromSeconds(seconds) : null;
        return DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date) ? UntilDate(date, now) : null;
    }

    // HTTP dates have whole-second resolution: add one second so we never resume early.
    private static TimeSpan UntilDate(DateTimeOffset date, DateTimeOffset now)
    {
        var wait = date - now + TimeSpan.FromSeconds(1);
        return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
    }
}
