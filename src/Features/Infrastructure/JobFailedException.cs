namespace Sentinel.Features.Infrastructure;

/// <summary>
/// A job failure a user can act on: a short reason code and a message with no secrets in it. It lives here, not in
/// Execution, because Graph and Infrastructure raise it and must not depend on the execution engine.
/// </summary>
public sealed class JobFailedException(string code, string message, Exception? inner = null) : Exception(message, inner)
{
    public string Code { get; } = code;
}
