using System.Text.Json;
using Dapper;
using Sentinel.Features.Ingestion;

namespace Sentinel.Tests.Ingestion;

/// <summary>The demo tenant (20,000 items, 12 sites) for the permission-model ground-truth test.</summary>
public sealed class DemoSimulatorFixture : SimulatorFixture
{
    protected override string Profile => "demo";
}

/// <summary>
/// SharePoint's permission model against the simulator's ground truth (issue 10): after random mutations that share
/// and unshare files and folders, break and restore inheritance, rename, move and delete, every live item's effective
/// permissions in the database equal the simulator's, and the posture metrics equal the same metrics computed from
/// the ground truth by the independent computation below — with the simulator's RU budget on.
/// </summary>
public static class PermissionModelGroundTruth
{
    public static readonly string[] PermissionKinds = ["shareFolder", "breakInheritance", "restoreInheritance", "removePermission", "addLink", "addGrant", "moveItem"];

    public static async Task RunAsync(SimulatorFixture fixture, int mutations)
    {
        // RU accounting and a per-minute RU budget on the simulator (the top tier's 6,250 RU/min): a client that
        // overspends gets 429 + Retry-After and must still converge.
        await fixture.SetFaultsAsync(new { ruBudgetPerMinute = 6_250 });
        await fixture.IngestAsync();
        await GroundTruth.AssertMatchesAsync(fixture);
        await AssertPostureMatchesAsync(fixture);

        for (var round = 1; round <= 2; round++)
        {
            await fixture.MutateAsync(mutations, seed: 100 + round);                                   // the default mix
            await fixture.MutateAsync(mutations / 2, seed: 200 + round, PermissionKinds);             // sharing and inheritance
            fixture.Clock.Advance(TimeSpan.FromHours(1));
            await fixture.IngestAsync();                                                              // incremental: no full rescan
            await GroundTruth.AssertMatchesAsync(fixture);
            await AssertPostureMatchesAsync(fixture);
        }
        await fixture.SetFaultsAsync(new { });
    }

    /// <summary>mv_dashboard_posture (refreshed by the run's refresh_views phase) equals the metrics computed from the truth.</summary>
    public static async Task AssertPostureMatchesAsync(SimulatorFixture fixture)
    {
        using var state = await fixture.StateAsync();
        var expected = PostureFromTruth(state.RootElement);
        await using var db = await fixture.OpenAsync();
        var actual = (await db.QueryAsync<(string Metric, long Value)>("SELECT metric, value FROM mv_dashboard_posture"))
            .ToDictionary(r => r.Metric, r => r.Value);
        var problems = expected.Where(e => actual.GetValueOrDefault(e.Key, -1) != e.Value)
            .Select(e => $"{e.Key}: truth {e.Value}, db {actual.GetValueOrDefault(e.Key, -1)}").ToList();
        Assert.True(problems.Count == 0, "posture differs from the ground truth:\n  " + string.Join("\n  ", problems));
        Assert.True(expected["anonymous_items"] > 0 && expected["unique_permission_items"] > 0, "the tenant exercises the metrics");
    }

    /// <summary>The definitions, computed from /_sim/state alone (no SQL of the product).</summary>
    public static Dictionary<string, long> PostureFromTruth(JsonElement root)
    {
        static bool Live(JsonElement e) => !(e.TryGetProperty("deleted", out var d) && d.ValueKind == JsonValueKind.True);
        static string? S(JsonElement e, string name) => e.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;

        var items = root.GetProperty("items").EnumerateArray().Where(Live).ToList();
        // Live permissions are held by live roots of permission hierarchies (the truth lists only those as live).
        var perms = root.GetProperty("permissions").EnumerateArray().Where(Live).ToList();
        bool External(JsonElement p) => p.GetProperty("grants").EnumerateArray().Any(g => g.GetProperty("isExternal").GetBoolean());
        bool OrgWide(JsonElement p) => p.GetProperty("grants").EnumerateArray().Any(g => g.TryGetProperty("isOrgWide", out var o) && o.GetBoolean());
        var anonRoots = perms.Where(p => S(p, "linkScope") == "anonymous").Select(p => S(p, "itemId")!).ToHashSet();
        var orgRoots = perms.Where(p => S(p, "linkScope") == "organization" || OrgWide(p)).Select(p => S(p, "itemId")!).ToHashSet();
        var files = items.Where(i => !i.GetProperty("isFolder").GetBoolean()).ToList();
        long Links(string scope, bool neverExpires = false) => perms
            .Where(p => S(p, "linkScope") == scope && (!neverExpires || p.GetProperty("expirationDateTime").ValueKind == JsonValueKind.Null))
            .Select(p => S(p, "id")).Distinct().Count();
        return new Dictionary<string, long>
        {
            ["anonymous_links"] = Links("anonymous"),
            ["anonymous_links_never_expire"] = Links("anonymous", neverExpires: true),
            ["anonymous_items"] = files.Count(f => anonRoots.Contains(S(f, "permissionRootId")!)),
            ["organization_links"] = Links("organization"),
            ["organization_items"] = files.Count(f => orgRoots.Contains(S(f, "permissionRootId")!)),
            ["users_links"] = Links("users"),
            ["direct_permissions"] = perms.Count(p => S(p, "linkScope") is null),
            ["external_permissions"] = perms.Count(External),
            ["unique_permission_items"] = items.Count(i => i.GetProperty("hasUniquePermissions").GetBoolean()),
            ["live_permissions"] = perms.Count,
            // distinct people: by email (guests, invitations), never by site-scoped ids
            ["external_principals"] = perms.SelectMany(p => p.GetProperty("grants").EnumerateArray())
                .Where(g => g.GetProperty("isExternal").GetBoolean())
                .Select(g => (S(g, "email") ?? S(g, "principalId"))!.ToLowerInvariant()).Distinct().Count(),
            ["guest_users"] = root.GetProperty("users").EnumerateArray().Count(u => Live(u) && S(u, "userType") == "Guest"),
        };
    }
}

public sealed class PermissionModelSmallTests(SimulatorFixture fixture) : IClassFixture<SimulatorFixture>
{
    [Fact]
    public Task Small_tenant_effective_permissions_and_posture_match_the_ground_truth_after_sharing_and_inheritance_changes() =>
        PermissionModelGroundTruth.RunAsync(fixture, mutations: 120);
}

public sealed class PermissionModelDemoTests(DemoSimulatorFixture fixture) : IClassFixture<DemoSimulatorFixture>
{
    [Fact]
    public Task Demo_tenant_effective_permissions_and_posture_match_the_ground_truth_after_sharing_and_inheritance_changes() =>
        PermissionModelGroundTruth.RunAsync(fixture, mutations: 300);
}

/// <summary>A folder shared with an anyone link: one permission call for the folder, all its files exposed; removing it clears them.</summary>
public sealed class FolderAnyoneLinkTests(SimulatorFixture fixture) : IClassFixture<SimulatorFixture>
{
    private const string NoVerification = """{"permission_verify_per_day": 0}""";

    [Fact]
    public async Task An_anyone_link_on_a_folder_exposes_every_file_below_it_after_one_incremental_run_with_one_permission_call()
    {
        await fixture.IngestAsync(NoVerification);
        var before = await AnonymousItemsAsync();

        // The inheriting folder with the most inheriting files below it, in a hierarchy without an anyone link.
        string folderId;
        int inheritingFiles;
        using (var state = await fixture.StateAsync())
        {
            var root = state.RootElement;
            var live = root.GetProperty("items").EnumerateArray().Where(i => !i.GetProperty("deleted").GetBoolean()).ToList();
            var anonRoots = root.GetProperty("permissions").EnumerateArray()
                .Where(p => !p.GetProperty("deleted").GetBoolean() && p.GetProperty("linkScope").GetString() == "anonymous")
                .Select(p => p.GetProperty("itemId").GetString()).ToHashSet();
            (folderId, inheritingFiles) = live
                .Where(f => f.GetProperty("isFolder").GetBoolean() && !f.GetProperty("hasUniquePermissions").GetBoolean()
                            && !anonRoots.Contains(f.GetProperty("permissionRootId").GetString()))
                .Select(f => (Id: f.GetProperty("id").GetString()!, Files: live.Count(i => !i.GetProperty("isFolder").GetBoolean()
                    && i.GetProperty("permissionRootId").GetString() == f.GetProperty("permissionRootId").GetString()
                    && i.GetProperty("path").GetString()!.StartsWith(f.GetProperty("path").GetString() + "/", StringComparison.Ordinal))))
                .OrderByDescending(x => x.Files).ThenBy(x => x.Id, StringComparer.Ordinal).First();
        }
        Assert.True(inheritingFiles >= 3, $"a folder with inheriting files ({inheritingFiles})");

        await fixture.MutateAsync(1, seed: 1, ["shareAnyone"], folderId);
        var (calls, exposed) = await IncrementalRunAsync();
        Assert.Equal(1, calls);                                 // the folder, not one call per file
        Assert.Equal(before + inheritingFiles, exposed);        // every file below it now counts
        await GroundTruth.AssertMatchesAsync(fixture, "items", "permissions", "roots", "effective");
        await PermissionModelGroundTruth.AssertPostureMatchesAsync(fixture);
        // The files below inherit the folder's link: answered from the database, no Graph call per file.
        var files = await fixture.ScalarAsync<long>("""
            SELECT count(*) FROM v_drive_item_effective_permissions e JOIN msgraph_drive_items i ON i.id = e.item_id
             WHERE e.source_item_id = @folderId AND e.inherited AND e.link_scope = 'anonymous' AND NOT i.is_folder
            """, new { folderId });
        Assert.Equal(inheritingFiles, files);

        await fixture.MutateAsync(1, seed: 2, ["unshareAnyone"], folderId);
        (calls, exposed) = await IncrementalRunAsync();
        Assert.Equal(1, calls);
        Assert.Equal(before, exposed);
        await GroundTruth.AssertMatchesAsync(fixture, "items", "permissions", "roots", "effective");
        await PermissionModelGroundTruth.AssertPostureMatchesAsync(fixture);
    }

    private async Task<(long Calls, long AnonymousItems)> IncrementalRunAsync()
    {
        fixture.Clock.Advance(TimeSpan.FromMinutes(5));
        await fixture.ResetStatsAsync();
        var (outcome, _) = await fixture.IngestAsync(NoVerification);
        var scan = (ScanPermissionsBatch.Result)outcome.Summary["permissions"]!;
        var stats = await fixture.StatsAsync();
        Assert.Equal(scan.PermissionCalls,
            stats.GetProperty("requestsByEndpoint").TryGetProperty("drives/{id}/items/{id}/permissions", out var n) ? n.GetInt64() : 0);
        return (scan.PermissionCalls, await AnonymousItemsAsync());
    }

    private Task<long> AnonymousItemsAsync() => fixture.ScalarAsync<long>("SELECT value FROM mv_dashboard_posture WHERE metric = 'anonymous_items'");
}
