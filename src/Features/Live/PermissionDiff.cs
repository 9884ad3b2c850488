using Sentinel.Features.Inventory;

namespace Sentinel.Features.Live;

/// <summary>Live-vs-stored comparison of one item's permissions, keyed by permission id.</summary>
public static class PermissionDiff
{
    public enum Kind { Same, Added, Removed, Changed }

    /// <summary>One row per permission id on either side. Added = live only; Removed = stored (not deleted) but gone live.</summary>
    public sealed record Row(string PermissionId, Kind Kind, GetLiveDriveItemPermissions.Permission? Live, GetItemDetail.Permission? Cached,
        IReadOnlyList<string> ChangedFields);

    public static IReadOnlyList<Row> Compare(IReadOnlyList<GetItemDetail.Permission> cached, IReadOnlyList<GetLiveDriveItemPermissions.Permission> live)
    {
        var stored = cached.Where(p => p.DeletedAt is null).ToDictionary(p => p.PermissionId);
        var rows = new List<Row>();
        foreach (var l in live)
        {
            if (!stored.Remove(l.PermissionId, out var c))
            {
                rows.Add(new Row(l.PermissionId, Kind.Added, l, null, []));
                continue;
            }
            var changed = new List<string>();
            if (!Same(c.Roles ?? [], l.Roles)) changed.Add("roles");
            if (c.LinkType != l.LinkType) changed.Add("link_type");
            if (c.LinkScope != l.LinkScope) changed.Add("link_scope");
            if (c.LinkExpirationDt?.ToUniversalTime() != l.LinkExpirationDt?.ToUniversalTime()) changed.Add("expiration");
            var cachedGrants = c.Grants.Where(g => g.DeletedAt is null).Select(g => (g.PrincipalType, g.PrincipalId)).ToHashSet();
            var liveGrants = l.Grants.Select(g => (g.PrincipalType, g.PrincipalId)).ToHashSet();
            if (!cachedGrants.SetEquals(liveGrants)) changed.Add("grantees");
            rows.Add(new Row(l.PermissionId, changed.Count == 0 ? Kind.Same : Kind.Changed, l, c, changed));
        }
        rows.AddRange(stored.Values.Select(c => new Row(c.PermissionId, Kind.Removed, null, c, [])));
        return rows;
    }

    private static bool Same(string[] a, string[] b) => a.Order().SequenceEqual(b.Order());
}
