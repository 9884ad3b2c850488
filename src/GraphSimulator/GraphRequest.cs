namespace Sentinel.GraphSimulator;

internal sealed class GraphRequest
{
    public string Method = "GET";
    /// <summary>Decoded path after /v1.0, e.g. "/users/delta()".</summary>
    public string Path = "/";
    public Dictionary<string, string> Query = new(StringComparer.OrdinalIgnoreCase);
    public string? Prefer;
    public bool InBatch;
}
