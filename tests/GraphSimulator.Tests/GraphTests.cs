using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Graph;
using Microsoft.Graph.Models;
using GSite = Microsoft.Graph.Models.Site;
using GUser = Microsoft.Graph.Models.User;
using GPermission = Microsoft.Graph.Models.Permission;

namespace Sentinel.GraphSimulator.Tests;

public sealed class GraphTests(SharedSim fx) : IClassFixture<SharedSim>
{
    [Fact]
    public async Task Sdk_full_sync_of_every_drive_matches_the_ground_truth()
    {
        var client = SimHarness.Graph(fx.Sim, fx.Http);
        var ing = new MiniIngest(client);
        var drives = await ing.DriveIds();
        using var truth = await fx.Sim.GetStateAsync();
        Assert.Equal(truth.RootElement.GetProperty("drives").GetArrayLength(), drives.Count);
        foreach (var d in drives) await ing.SyncDrive(d);
        MiniIngest.AssertMatchesTruth(ing, truth);
        Assert.True(ing.EmptyPagesWithNext > 0, "quirk: an empty page that still carries a nextLink");
        Assert.True(ing.Duplicates > 0, "quirk: the same item twice in a round");
        Assert.Contains(ing.Items.Values, i => i.Deleted && i.Name is null); // deleted facet, name missing, even in a first sync
    }

    [Fact]
    public async Task Users_delta_pages_with_select_and_removed_entries_then_latest_is_empty()
    {
        var client = SimHarness.Graph(fx.Sim, fx.Http);
        var page = await client.Users.Delta.GetAsDeltaGetResponseAsync(rc => rc.QueryParameters.Select = ["id", "displayName", "accountEnabled", "userType", "userPrincipalName"]);
        var users = new Dictionary<string, GUser>();
        var removed = 0;
        var pages = 0;
        while (true)
        {
            pages++;
            foreach (var u in page!.Value!)
            {
                if (u.AdditionalData.ContainsKey("@removed")) { removed++; continue; }
                Assert.NotNull(u.AccountEnabled); // $select is carried in the links
                users[u.Id!] = u;
            }
            if (page.OdataDeltaLink is not null) break;
            Assert.Null(page.OdataDeltaLink);
            page = await client.Users.Delta.WithUrl(page.OdataNextLink!).GetAsDeltaGetResponseAsync();
        }
        using var truth = await fx.Sim.GetStateAsync();
        var live = truth.RootElement.GetProperty("users").EnumerateArray().Where(u => !u.GetProperty("deleted").GetBoolean()).ToList();
        Assert.Equal(live.Count, users.Count);
        Assert.Contains(users.Values, u => u.UserType == "Guest" && u.UserPrincipalName!.Contains("#EXT#"));
        Assert.True(removed > 0, "soft-deleted users appear as @removed even in a first sync");

        var latest = await client.Users.Delta.WithUrl($"{fx.Sim.GraphBaseUrl}/users/delta?$deltatoken=latest").GetAsDeltaGetResponseAsync();
        Assert.Empty(latest!.Value!);
        Assert.NotNull(latest.OdataDeltaLink);
    }

    [Fact]
    public async Task Groups_delta_members_delta_merges_to_the_truth_memberships()
    {
        using var http = await SimHarness.AuthorizedRaw(fx.Sim);
        var url = $"{fx.Sim.GraphBaseUrl}/groups/delta()?$select=id,displayName,members";
        var members = new HashSet<(string, string)>();
        var repeated = 0;
        var seenGroups = new HashSet<string>();
        while (true)
        {
            using var doc = await SimHarness.GetJson(http, url);
            foreach (var g in doc.RootElement.GetProperty("value").EnumerateArray())
            {
                var gid = g.GetProperty("id").GetString()!;
                if (!seenGroups.Add(gid)) repeated++;
                if (!g.TryGetProperty("members@delta", out var md)) continue;
                foreach (var m in md.EnumerateArray())
                {
                    if (m.TryGetProperty("@removed", out _)) members.Remove((gid, m.GetProperty("id").GetString()!));
                    else members.Add((gid, m.GetProperty("id").GetString()!));
                }
            }
            if (doc.RootElement.TryGetProperty("@odata.deltaLink", out _)) break;
            url = doc.RootElement.GetProperty("@odata.nextLink").GetString()!;
        }
        using var truth = await fx.Sim.GetStateAsync();
        var expected = truth.RootElement.GetProperty("memberships").EnumerateArray().Where(m => !m.GetProperty("deleted").GetBoolean())
            .Select(m => (m.GetProperty("groupId").GetString()!, m.GetProperty("memberId").GetString()!)).ToHashSet();
        Assert.Equal(expected.OrderBy(x => x), members.OrderBy(x => x));
        Assert.True(repeated > 0, "a large group is repeated across pages with slices of members");
        Assert.Contains(truth.RootElement.GetProperty("memberships").EnumerateArray(), m => m.GetProperty("memberType").GetString() == "group");
    }

    [Fact]
    public async Task GetAllSites_pages_through_oneDrive_getAllSites_nextLinks_with_PageIterator()
    {
        var client = SimHarness.Graph(fx.Sim, fx.Http);
        var first = await client.Sites.GetAllSites.GetAsGetAllSitesGetResponseAsync();
        Assert.Contains("/sites/oneDrive.getAllSites?$skiptoken=", first!.OdataNextLink);
        var sites = new List<GSite>();
        await PageIterator<GSite, Microsoft.Graph.Sites.GetAllSites.GetAllSitesGetResponse>.CreatePageIterator(client, first, s => { sites.Add(s); return true; }).IterateAsync();
        Assert.Equal(fx.Sim.Options.Profile == "small" ? 3 : sites.Count, sites.Count);
        Assert.Single(sites, s => s.Root is not null);
        var perms = await client.Sites[sites[0].Id].Permissions.GetAsync();
        Assert.Equal(fx.Sim.ClientId, perms!.Value![0].GrantedToIdentitiesV2![0].Application!.Id);
    }

    [Fact]
    public async Task User_without_a_onedrive_is_404_ResourceNotFound()
    {
        using var http = await SimHarness.AuthorizedRaw(fx.Sim);
        using var truth = await fx.Sim.GetStateAsync();
        var owners = truth.RootElement.GetProperty("drives").EnumerateArray().Where(d => d.GetProperty("ownerId").ValueKind == JsonValueKind.String)
            .Select(d => d.GetProperty("ownerId").GetString()).ToHashSet();
        var without = truth.RootElement.GetProperty("users").EnumerateArray().First(u => !u.GetProperty("deleted").GetBoolean() && !owners.Contains(u.GetProperty("id").GetString()));
        var resp = await http.GetAsync($"{fx.Sim.GraphBaseUrl}/users/{without.GetProperty("id").GetString()}/drive");
        Assert.Equal(HttpStatusCode.NotFound, resp.StatusCode);
        using var err = JsonDocument.Parse(await resp.Content.ReadAsStringAsync());
        Assert.Equal("ResourceNotFound", err.RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("User's mysite not found.", err.RootElement.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task Batch_of_permission_requests_through_the_sdk_returns_every_response_and_realistic_shapes()
    {
        var client = SimHarness.Graph(fx.Sim, fx.Http);
        using var truth = await fx.Sim.GetStateAsync();
        var targets = truth.RootElement.GetProperty("permissions").EnumerateArray().Where(p => !p.GetProperty("deleted").GetBoolean())
            .Select(p => (Drive: p.GetProperty("driveId").GetString()!, Item: p.GetProperty("itemId").GetString()!)).Distinct().ToList();
        Assert.True(targets.Count > 20, "enough shared files for two batches");
        var batch = new BatchRequestContentCollection(client);
        var ids = new Dictionary<string, (string Drive, string Item)>();
        foreach (var t in targets) ids[await batch.AddBatchRequestStepAsync(client.Drives[t.Drive].Items[t.Item].Permissions.ToGetRequestInformation())] = t;
        var resp = await client.Batch.PostAsync(batch);
        var codes = await resp.GetResponsesStatusCodesAsync();
        Assert.Equal(targets.Count, codes.Count);
        Assert.All(codes.Values, c => Assert.Equal(HttpStatusCode.OK, c));
        var all = new List<GPermission>();
        foreach (var id in ids.Keys) all.AddRange((await resp.GetResponseByIdAsync<PermissionCollectionResponse>(id)).Value!);
        Assert.Contains(all, p => p.Id == "00000000-0000-0000-0000-000000000000" && p.Link?.Scope == "existingAccess");
        Assert.Contains(all, p => p.Link?.Scope == "anonymous");
        Assert.Contains(all, p => p.GrantedToV2?.SiteUser?.LoginName?.Contains("#ext#") == true);
        Assert.Contains(all, p => p.Invitation is not null && p.GrantedToV2 is null);
        Assert.Contains(all, p => p.ExpirationDateTime == new DateTimeOffset(1, 1, 1, 0, 0, 0, TimeSpan.Zero));
        Assert.Contains(all, p => p.GrantedTo is not null && p.GrantedToV2 is not null); // deprecated alongside
        Assert.All(all, p => Assert.Null(p.InheritedFrom));
    }

    [Fact]
    public async Task Raw_batch_rejects_more_than_20_and_duplicate_ids_and_shuffles_responses()
    {
        using var http = await SimHarness.AuthorizedRaw(fx.Sim);
        string Body(IEnumerable<string> ids) => JsonSerializer.Serialize(new { requests = ids.Select(i => new { id = i, method = "GET", url = "/sites/root" }) });
        var tooMany = await http.PostAsync($"{fx.Sim.GraphBaseUrl}/$batch", new StringContent(Body(Enumerable.Range(1, 21).Select(i => i.ToString())), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, tooMany.StatusCode);
        var dup = await http.PostAsync($"{fx.Sim.GraphBaseUrl}/$batch", new StringContent(Body(["1", "2", "1"]), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, dup.StatusCode);
        var shuffled = false;
        for (var k = 0; k < 5 && !shuffled; k++)
        {
            var ok = await http.PostAsync($"{fx.Sim.GraphBaseUrl}/$batch", new StringContent(Body(Enumerable.Range(1, 20).Select(i => i.ToString())), Encoding.UTF8, "application/json"));
            using var doc = JsonDocument.Parse(await ok.Content.ReadAsStringAsync());
            var order = doc.RootElement.GetProperty("responses").EnumerateArray().Select(r => int.Parse(r.GetProperty("id").GetString()!)).ToList();
            Assert.Equal(20, order.Count);
            shuffled = !order.SequenceEqual(order.Order());
        }
        Assert.True(shuffled);
    }

    [Fact]
    public async Task Drive_delta_accepts_every_path_and_token_form()
    {
        using var http = await SimHarness.AuthorizedRaw(fx.Sim);
        using var truth = await fx.Sim.GetStateAsync();
        var drive = truth.RootElement.GetProperty("drives")[0].GetProperty("id").GetString();
        foreach (var form in new[] { "root/delta", "root/delta()", "items/root/delta", "items/root/delta()", "root/microsoft.graph.delta()" })
        {
            using var doc = await SimHarness.GetJson(http, $"{fx.Sim.GraphBaseUrl}/drives/{drive}/{form}");
            Assert.True(doc.RootElement.TryGetProperty("@odata.nextLink", out _) || doc.RootElement.TryGetProperty("@odata.deltaLink", out _));
        }
        // $top sets the page size for the round and survives in the nextLink
        using (var small = await SimHarness.GetJson(http, $"{fx.Sim.GraphBaseUrl}/drives/{drive}/root/delta?$top=3"))
        {
            var next = small.RootElement.GetProperty("@odata.nextLink").GetString()!;
            using var second = await SimHarness.GetJson(http, next);
            Assert.InRange(second.RootElement.GetProperty("value").GetArrayLength(), 0, 4);
            Assert.True(small.RootElement.GetProperty("value").GetArrayLength() <= 4);
        }
        using var latest = await SimHarness.GetJson(http, $"{fx.Sim.GraphBaseUrl}/drives/{drive}/root/delta?token=latest");
        Assert.Empty(latest.RootElement.GetProperty("value").EnumerateArray());
        var link = latest.RootElement.GetProperty("@odata.deltaLink").GetString()!;
        Assert.StartsWith(fx.Sim.GraphBaseUrl, link);
        // the token in either style works in the other style too
        var token = link.Contains("token='") ? link.Split("token='")[1].TrimEnd(')', '\'') : link.Split("token=")[1];
        using var a = await SimHarness.GetJson(http, $"{fx.Sim.GraphBaseUrl}/drives/{drive}/root/delta(token='{token}')");
        using var b = await SimHarness.GetJson(http, $"{fx.Sim.GraphBaseUrl}/drives/{drive}/items/root/delta?token={token}");
        Assert.True(a.RootElement.TryGetProperty("@odata.deltaLink", out _) || a.RootElement.TryGetProperty("@odata.nextLink", out _));
        Assert.True(b.RootElement.TryGetProperty("@odata.deltaLink", out _) || b.RootElement.TryGetProperty("@odata.nextLink", out _));
    }
}
