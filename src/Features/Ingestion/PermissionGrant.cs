using System.Text.Json;

namespace Sentinel.Features.Ingestion;

/// <summary>
/// One grant row (SIM_CONTRACT.md grant rule): the rule that flattens a Graph permission into one row per principal.
/// Ingestion (ScanPermissionsBatch) stores it and the live view (GetLiveDriveItemPermissions) shows it, so both
/// compare one-to-one.
/// </summary>
internal sealed record PermissionGrant(string PrincipalType, string PrincipalId, string? DisplayName, string? Email, string? Upn, string? LoginName,
    bool IsExternal, string Raw)
{
    private static readonly string[] PrincipalFacets = ["user", "group", "application", "siteUser", "siteGroup"];

    /// <summary>
    /// For each identity set in grantedToV2 and each entry of grantedToIdentitiesV2 (deduplicated by type+id): the first facet
    /// present among user, group, application, siteUser, siteGroup. An invitation without grantee → ("invitation", email).
    /// External = any facet's loginName contains #ext# or urn:spo:guest, or an invitation.
    /// </summary>
    public static List<PermissionGrant> Of(JsonElement permission)
    {
        var sets = new List<JsonElement>();
        if (permission.TryGetProperty("grantedToV2", out var g) && g.ValueKind == JsonValueKind.Object) sets.Add(g);
        if (permission.TryGetProperty("grantedToIdentitiesV2", out var gs) && gs.ValueKind == JsonValueKind.Array)
            sets.AddRange(gs.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.Object));
        var grants = new List<PermissionGrant>();
        var seen = new HashSet<(string, string)>();
        foreach (var set in sets)
        {
            foreach (var facetName in PrincipalFacets)
            {
                if (!set.TryGetProperty(facetName, out var facet) || facet.ValueKind != JsonValueKind.Object) continue;
                if (!facet.TryGetProperty("id", out var idProp) || idProp.GetString() is not { Length: > 0 } id) continue;
                if (seen.Add((facetName, id)))
                {
                    string? loginName = Str(facet, "loginName"), email = Str(facet, "email");
                    var external = false;
                    foreach (var f in set.EnumerateObject())
                    {
                        if (f.Value.ValueKind != JsonValueKind.Object) continue;
                        var login = Str(f.Value, "loginName");
                        if (login is not null && (login.Contains("#ext#", StringComparison.OrdinalIgnoreCase) || login.Contains("urn:spo:guest", StringComparison.OrdinalIgnoreCase)))
                            external = true;
                        loginName ??= login;
                        email ??= Str(f.Value, "email");
                    }
                    grants.Add(new PermissionGrant(facetName, id, Str(facet, "displayName"), email, Str(facet, "userPrincipalName"), loginName, external, set.GetRawText()));
                }
                break;
            }
        }
        if (grants.Count == 0 && permission.TryGetProperty("invitation", out var inv) && inv.ValueKind == JsonValueKind.Object &&
            Str(inv, "email") is { Length: > 0 } invited)
            grants.Add(new PermissionGrant("invitation", invited, null, invited, null, null, true, inv.GetRawText()));
        return grants;
    }

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
}
