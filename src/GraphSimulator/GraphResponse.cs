namespace Sentinel.GraphSimulator;

internal sealed class GraphResponse : IDisposable
{
    public int Status = 200;
    public readonly List<KeyValuePair<string, string>> Headers = [];
    public readonly PooledBuffer Body = new();
    public void Dispose() => Body.Dispose();
}
