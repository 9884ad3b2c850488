using System.Net;
using System.Text.Json;

namespace Sentinel.Features.Graph;

/// <summary>
/// A buffered Graph response: status, body bytes (one page — bounded; an inner answer of a $batch is a slice of the
/// batch's buffer, not a copy), and the headers callers need.
/// </summary>
public sealed record GraphResponse(HttpStatusCode Status, ReadOnlyMemory<byte> Body, Uri? Location)
{
    public bool IsSuccess => (int)Status is >= 200 and < 300;

    public JsonDocument Json() => JsonDocument.Parse(Body);

    /// <summary>Graph error code (<c>error.code</c>) if the body is a Graph error.</summary>
    public string? ErrorCode()
    {
        try
        {
            using var doc = JsonDocument.Parse(Body);
            return doc.RootElement.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.Object &&
                   e.TryGetProperty("code", out var c) ? c.GetString() : null;
        }
        catch (JsonException) { return null; }
    }
}
