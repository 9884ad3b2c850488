using System.Text.Json;

namespace Sentinel.GraphSimulator;

/// <summary>What a routed request is (for stats, RU and fault matching) and how to run it.</summary>
internal sealed class Route
{
    public string Endpoint = "unknown";
    public int Ru = 1;
    public bool SharePoint = true;
    public bool DriveDeltaWithToken, DirDeltaWithToken;
    public Action<GraphResponse, Utf8JsonWriter>? Run;
    public int Status = 200;
}
