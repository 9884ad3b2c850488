namespace Sentinel.Features.Infrastructure;

/// <summary>Who asked for a change: the signed-in Entra user, or the system itself.</summary>
public sealed record Actor(string? Oid, string? Upn, string? Name)
{
    public static readonly Actor System = new(null, "system", "Princeton Sentinel worker");
    public static readonly Actor Cli = new(null, "cli", "worker command line");
}
