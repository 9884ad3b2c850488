namespace Sentinel.Features.Live;

/// <summary>A live Graph call failed; the message is safe to show inline (no tokens, no secrets).</summary>
public sealed class LiveGraphException(int status, string code, string message) : Exception(message)
{
    public int Status { get; } = status;
    public string Code { get; } = code;
}
