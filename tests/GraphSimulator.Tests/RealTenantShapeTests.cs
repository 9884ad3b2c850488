using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Sentinel.GraphSimulator.Tests;

/// <summary>The real-tenant shapes of issue 11 (docs/simulator.md, "Real-tenant shapes"), as the simulator serves them.</summary>
public sealed class RealTenantShapeTests
{
    private static async Task<(List<JsonElement> Items, string DeltaLink, int Pages)> Round(HttpClient http, string url)
    {
        var all = new List<JsonElement>();
        for (var pages = 1; ; pages++)
        {
            using var doc = await SimHarness.GetJson(http, url);
            all.AddRange(doc.RootElement.GetProperty("value").EnumerateArray().Select(e => e.Clone()));
            if (doc.RootElement.TryGetProperty("@odata.deltaLink", out var dl)) return (all, dl.GetString()!, pages);
            url = doc.RootElement.GetProperty("@odata.nextLink").GetString()!;
        }
    }

    [Fact]
    public async Task Target_errors_answer_top_level_and_inside_a_batch_until_cleared()
    {
        await using var sim = await SimHarness.StartAsync("small", 3);
        using var http = await SimHarness.AuthorizedRaw(sim);
        var user = sim.Core.Tenant.Users.First(u => u.Drive >= 0 && !u.Deleted).Id;
        var site = sim.Core.Tenant.Sites[1].Id;
        sim.Faults = new FaultConfig
        {
            TargetErrors =
            [
                new TargetError { Match = $"/users/{user}/drive", Status = 403, Code = "accessDenied" },
                new TargetError { Match = $"/sites/{site}/drives", Status = 423, Code = "resourceLocked", Message = "The resource that is being accessed is locked." },
            ],
        };
        for (var k = 0; k < 2; k++)
        {
            using var r = await http.GetAsync($"{sim.GraphBaseUrl}/users/{user}/drive");
            Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
        }
        var body = JsonSerializer.Serialize(new { requests = new[] { new { id = "1", method = "GET", url = $"/sites/{site}/drives" }, new { id = "2", method = "GET", url = "/sites/root" } } });
        using (var r = await http.PostAsync($"{sim.GraphBaseUrl}/$batch", new StringContent(body, Encoding.UTF8, "application/json")))
        {
            using var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
            var statuses = doc.RootElement.GetProperty("responses").EnumerateArray().ToDictionary(x => x.GetProperty("id").GetString()!, x => x.GetProperty("status").GetInt32());
            Assert.Equal(423, statuses["1"]);
            Assert.Equal(200, statuses["2"]);
        }
        sim.Faults = new FaultConfig();
        using (var r = await http.GetAsync($"{sim.GraphBaseUrl}/users/{user}/drive")) Assert.Equal(HttpStatusCode.OK, r.StatusCode);
    }

    [Fact]
    public async Task GetAllSites_lists_personal_sites_but_not_subsites_which_come_from_the_sites_of_their_parent()
    {
        await using var sim = await SimHarness.StartAsync("small", 4);
        using var http = await SimHarness.AuthorizedRaw(sim);
        await sim.MutateAsync(1, 1, ["createPersonalSites"]);
        var subsites = await sim.MutateAsync(4, 2, ["createSubsite"]);
        using var all = await SimHarness.GetJson(http, $"{sim.GraphBaseUrl}/sites/getAllSites");
        var listed = all.RootElement.GetProperty("value").EnumerateArray().Select(s => s.Clone()).ToList();
        Assert.DoesNotContain(listed, s => subsites.Any(x => x.Id == s.GetProperty("id").GetString()));
        var personal = listed.Where(s => s.TryGetProperty("isPersonalSite", out var p) && p.GetBoolean()).ToList();
        Assert.NotEmpty(personal);
        Assert.All(personal, s => Assert.Contains("-my.sharepoint.com/personal/", s.GetProperty("webUrl").GetString()));
        // A personal site's one library is its owner's OneDrive (same drive id as /users/{id}/drive).
        using var drives = await SimHarness.GetJson(http, $"{sim.GraphBaseUrl}/sites/{personal[0].GetProperty("id").GetString()}/drives");
        var drive = drives.RootElement.GetProperty("value")[0];
        var owner = drive.GetProperty("owner").GetProperty("user").GetProperty("id").GetString();
        using var userDrive = await SimHarness.GetJson(http, $"{sim.GraphBaseUrl}/users/{owner}/drive");
        Assert.Equal(drive.GetProperty("id").GetString(), userDrive.RootElement.GetProperty("id").GetString());

        // Every subsite is reachable from its parent's /sites, recursively.
        var found = new List<string>();
        var frontier = listed.Where(s => !personal.Contains(s)).Select(s => s.GetProperty("id").GetString()!).ToList();
        while (frontier.Count > 0)
        {
            var next = new List<string>();
            foreach (var id in frontier)
            {
                using var children = await SimHarness.GetJson(http, $"{sim.GraphBaseUrl}/sites/{id}/sites");
                next.AddRange(children.RootElement.GetProperty("value").EnumerateArray().Select(c => c.GetProperty("id").GetString()!));
            }
            found.AddRange(next);
            frontier = next;
        }
        Assert.Equal(subsites.Select(s => s.Id).Order(), found.Order());
    }

    [Fact]
    public async Task A_restored_user_gets_its_onedrive_back_with_unchanged_content()
    {
        await using var sim = await SimHarness.StartAsync("small", 5);
        using var http = await SimHarness.AuthorizedRaw(sim);
        var deleted = await sim.MutateAsync(10, 1, ["deleteUser"]);
        var restored = await sim.MutateAsync(10, 2, ["restoreUser"]);
        Assert.NotEmpty(restored);
        foreach (var r in restored)
        {
            var u = sim.Core.Tenant.Users.Single(x => x.Id.ToString() == r.Id);
            Assert.False(u.Deleted);
            Assert.Contains(deleted, d => d.Id == r.Id);
            using var resp = await http.GetAsync($"{sim.GraphBaseUrl}/users/{r.Id}/drive");
            Assert.Equal(u.Drive >= 0 ? HttpStatusCode.OK : HttpStatusCode.NotFound, resp.StatusCode);
        }
    }

    [Fact]
    public async Task Children_first_rounds_send_changed_items_before_their_parents_without_parent_chains_across_pages()
    {
        await using var sim = await SimHarness.StartAsync("small", 6);
        using var http = await SimHarness.AuthorizedRaw(sim);
        var t = sim.Core.Tenant;
        var links = new Dictionary<string, string>();
        foreach (var d in t.Drives) links[d.Id] = (await Round(http, $"{sim.GraphBaseUrl}/drives/{d.Id}/root/delta")).DeltaLink;
        var applied = await sim.MutateAsync(3, 7, ["renameFolderAndEditGrandchild"]);
        Assert.NotEmpty(applied);
        sim.Faults = new FaultConfig { DriveDeltaChildrenFirst = true, DrivePageSize = 1 };
        var sawChildFirst = false;
        foreach (var m in applied)
        {
            var drive = t.Drives.First(d => d.Items.Any(i => t.ItemId(i) == m.Id));
            var (items, _, pages) = await Round(http, links[drive.Id]);
            var ids = items.Select(i => i.GetProperty("id").GetString()!).ToList();
            var grandchild = ids.IndexOf(m.Id);
            var parent = t.ItemId(t.ItemParent[t.ParseItemId(m.Id)]);
            var renamed = t.ItemId(t.ItemParent[t.ParseItemId(parent)]);
            Assert.DoesNotContain(parent, ids); // no parent chain
            Assert.True(grandchild >= 0 && ids.IndexOf(renamed) > grandchild);
            Assert.True(pages > 1);
            sawChildFirst = true;
        }
        Assert.True(sawChildFirst);
    }

    [Fact]
    public async Task A_full_round_can_come_children_first_and_repeat_an_item_across_pages()
    {
        await using var sim = await SimHarness.StartAsync("small", 8);
        using var http = await SimHarness.AuthorizedRaw(sim);
        var t = sim.Core.Tenant;
        var drive = t.Drives.MaxBy(d => d.Items.Count)!;
        var url = $"{sim.GraphBaseUrl}/drives/{drive.Id}/root/delta";
        var (ordered, _, _) = await Round(http, url);

        sim.Faults = new FaultConfig { DriveFullRoundChildrenFirst = true, DrivePageSize = 3 };
        var (reversed, _, pages) = await Round(http, url);
        var ids = reversed.Select(i => i.GetProperty("id").GetString()!).ToList();
        Assert.True(pages > 1);
        // the root last, every folder after its children, nothing lost
        Assert.Equal(t.ItemId(drive.Root), ids[^1]);
        Assert.Equal(ordered.Select(i => i.GetProperty("id").GetString()!).ToHashSet(), ids.ToHashSet());
        Assert.Contains(drive.Items, i => i != drive.Root && ids.IndexOf(t.ItemId(t.ItemParent[i])) > ids.IndexOf(t.ItemId(i)));

        sim.Faults = new FaultConfig { DriveFullRoundRepeats = true, DrivePageSize = 3 };
        var (repeated, _, repeatedPages) = await Round(http, url);
        var repeatedIds = repeated.Select(i => i.GetProperty("id").GetString()!).ToList();
        // each page after the first (an empty first page aside) starts with the previous page's last item
        var quirks = ordered.Count - ordered.Select(i => i.GetProperty("id").GetString()).Distinct().Count();
        var repeats = repeatedIds.Count - repeatedIds.Distinct().Count() - quirks;
        Assert.InRange(repeats, Math.Max(1, repeatedPages - 2), repeatedPages - 1);
        Assert.Equal(ordered.Select(i => i.GetProperty("id").GetString()!).ToHashSet(), repeatedIds.ToHashSet());
    }

    [Fact]
    public async Task A_folder_deleted_after_a_subfolder_moved_out_is_sent_deleted_and_the_subfolder_moved()
    {
        await using var sim = await SimHarness.StartAsync("small", 8);
        using var http = await SimHarness.AuthorizedRaw(sim);
        var t = sim.Core.Tenant;
        var links = new Dictionary<string, string>();
        foreach (var d in t.Drives) links[d.Id] = (await Round(http, $"{sim.GraphBaseUrl}/drives/{d.Id}/root/delta")).DeltaLink;
        var applied = await sim.MutateAsync(1, 9, ["moveOutAndDeleteFolder"]);
        var folder = t.ParseItemId(Assert.Single(applied).Id);
        var drive = t.Drives[t.ItemDrive[folder]];
        // the move is stamped just before the deletion
        var moved = Assert.Single(drive.Items, i => t.ItemSeq[i] == t.ItemSeq[folder] - 1);
        Assert.True(t.IsFolder(moved) && t.ChildCount[moved] > 0 && !t.IsDeleted(moved));
        var (items, _, _) = await Round(http, links[drive.Id]);
        var byId = items.ToDictionary(i => i.GetProperty("id").GetString()!);
        Assert.True(byId[t.ItemId(folder)].TryGetProperty("deleted", out _));
        Assert.Equal(t.ItemId(t.ItemParent[moved]), byId[t.ItemId(moved)].GetProperty("parentReference").GetProperty("id").GetString());
        Assert.Equal(t.ItemParent[folder], t.ItemParent[moved]);
    }
}
