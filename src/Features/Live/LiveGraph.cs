using System.Text.Json;
using Sentinel.Features.Graph;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Live;

/// <summary>A live Graph call failed; the message is safe to show inline (no tokens, no secrets).</summary>
public sealed class LiveGraphException(int status, string code, string message) : Exception(message)
{
    public int Status { get; } = status;
    public string Code { get; } = code;
}

/// <summary>One app-only GET through the shared Graph client; never persisted.</summary>
internal static class LiveGraph
{
    public static async Task<JsonDocument> GetAsync(GraphHttp graph, string url, CancellationToken ct)
    {
        GraphResponse response;
        try
        {
            response = await graph.GetAsync(url, new GraphCallStats(), ct);
        }
        catch (JobFailedException e)
        {
            throw new LiveGraphException(502, e.Code, e.Message);
        }
        catch (HttpRequestException)
        {
            throw new LiveGraphException(502, "graph_unreachable", "Microsoft Graph (GRAPH_BASE_URL) could not be reached");
        }
        if ((int)response.Status == 404)
            throw new LiveGraphException(404, "not_found", "Graph says this object no longer exists (404)");
        if (!response.IsSuccess)
            throw new LiveGraphException(502, response.ErrorCode() ?? "graph_error", $"Graph answered HTTP {(int)response.Status} ({response.ErrorCode() ?? "no error code"})");
        return response.Json();
    }

    public static string? Str(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
}
