namespace Sentinel.GraphSimulator;

/// <summary>
/// Another app registration of the simulated tenant (a SIEM connector, an automation script) that calls the Sentinel API as
/// itself: client credentials with scope api://{sentinel client id}/.default give it an app-only access token whose
/// <c>roles</c> are the Sentinel app roles assigned to its service principal (none: the claim is omitted, and Entra still
/// issues the token unless the API requires assignment). <see cref="ServicePrincipalId"/> is the token's oid and sub.
/// </summary>
public sealed record ClientApp(string DisplayName, string ClientId, string ClientSecret, string ServicePrincipalId, IReadOnlyList<string> Roles)
{
    /// <summary>The app roles the Sentinel registration defines (allowedMemberTypes User and Application).</summary>
    public static readonly string[] SentinelRoles = ["Sentinel.Reader", "Sentinel.Operator", "Sentinel.Admin"];

    /// <summary>The default client apps: one per role and one without any assignment.</summary>
    public static IReadOnlyList<ClientApp> Defaults { get; } =
    [
        new("SIEM connector", "5a1e0c7d-1b2c-4d3e-8f40-5162738495a1", "sim-siem-secret", "0c4f7a10-1111-4a2b-9c3d-4e5f60718291", ["Sentinel.Reader"]),
        new("Automation", "5a1e0c7d-1b2c-4d3e-8f40-5162738495a2", "sim-automation-secret", "0c4f7a10-2222-4a2b-9c3d-4e5f60718292", ["Sentinel.Operator"]),
        new("Provisioning", "5a1e0c7d-1b2c-4d3e-8f40-5162738495a3", "sim-provisioning-secret", "0c4f7a10-3333-4a2b-9c3d-4e5f60718293", ["Sentinel.Admin"]),
        new("Unassigned app", "5a1e0c7d-1b2c-4d3e-8f40-5162738495a4", "sim-unassigned-secret", "0c4f7a10-4444-4a2b-9c3d-4e5f60718294", []),
    ];

    /// <summary>ToString without the secret.</summary>
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append($"DisplayName = {DisplayName}, ClientId = {ClientId}, ServicePrincipalId = {ServicePrincipalId}, Roles = [{string.Join(", ", Roles ?? [])}]");
        return true;
    }

    /// <summary>Why a list of client apps cannot be a tenant's (duplicate or clashing ids, empty secret, a role Sentinel does not define), or null.</summary>
    public static string? Check(IReadOnlyList<ClientApp> apps, string sentinelClientId)
    {
        var ids = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { sentinelClientId };
        foreach (var a in apps)
        {
            if (string.IsNullOrWhiteSpace(a.ClientId) || string.IsNullOrWhiteSpace(a.ClientSecret) || string.IsNullOrWhiteSpace(a.ServicePrincipalId) || string.IsNullOrWhiteSpace(a.DisplayName))
                return "every client app needs displayName, clientId, clientSecret and servicePrincipalId";
            if (!ids.Add(a.ClientId)) return $"client app id '{a.ClientId}' is used twice (or is the Sentinel client id)";
            if ((a.Roles ?? []).FirstOrDefault(r => !SentinelRoles.Contains(r, StringComparer.Ordinal)) is { } bad)
                return $"client app '{a.DisplayName}': role '{bad}' is not one of {string.Join(", ", SentinelRoles)}";
        }
        return null;
    }
}
