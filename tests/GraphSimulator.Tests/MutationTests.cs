using System.Net.Http.Json;
using System.Text.Json;

namespace Sentinel.GraphSimulator.Tests;

public sealed class MutationTests
{
    private const string SharingPrefer = "deltashowremovedasdeleted, deltatraversepermissiongaps, deltashowsharingchanges, hierarchicalsharing";

    [Fact]
    public async Task Incremental_drive_deltas_after_mutations_converge_to_the_new_ground_truth()
    {
        await using var sim = await SimHarness.StartAsync("small", 7);
        using var http = SimHarness.Http(sim);
        var client = SimHarness.Graph(sim, http);
        var ing = new MiniIngest(client);
        foreach (var d in await ing.DriveIds()) await ing.SyncDrive(d, SharingPrefer);
        using (var before = await sim.GetStateAsync()) MiniIngest.AssertMatchesTruth(ing, before);

        for (var round = 0; round < 3; round++)
        {
            var resp = await http.PostAsJsonAsync($"{sim.BaseUrl}/_sim/mutate", new { count = 60, seed = 100 + round });
            resp.EnsureSuccessStatusCode();
            using var applied = JsonDocument.Parse(await resp.Content.ReadAsStringAsync());
            Assert.True(applied.RootElement.GetProperty("applied").GetInt32() > 20);
            ing.SharedChanged = 0;
            var drives = await ing.DriveIds();
            ing.DropDrivesOtherThan(drives);
            foreach (var d in drives) await ing.SyncDrive(d, SharingPrefer); // new OneDrives start with a full round
            using var truth = await sim.GetStateAsync();
            MiniIngest.AssertMatchesTruth(ing, truth);
        }
        Assert.Contains(ing.Items.Values, i => i.Deleted);
        Assert.True(sim.Stats.Mutations > 100);
    }

    [Fact]
    public async Task Sharing_changes_are_annotated_only_with_the_required_prefer_headers()
    {
        await using var sim = await SimHarness.StartAsync("small", 8);
        using var http = SimHarness.Http(sim);
        var client = SimHarness.Graph(sim, http);
        var with = new MiniIngest(client);
        var without = new MiniIngest(client);
        var drives = await with.DriveIds();
        foreach (var d in drives) { await with.SyncDrive(d, SharingPrefer); await without.SyncDrive(d, "hierarchicalsharing"); }
        await sim.MutateAsync(30, seed: 5, kinds: ["addLink", "addGrant"]);
        foreach (var d in drives) { await with.SyncDrive(d, SharingPrefer); await without.SyncDrive(d, "hierarchicalsharing"); }
        Assert.True(with.SharedChanged > 0);
        Assert.Equal(0, without.SharedChanged);
    }

    [Fact]
    public async Task Directory_deltas_report_removed_users_and_membership_changes()
    {
        await using var sim = await SimHarness.StartAsync("small", 9);
        using var http = await SimHarness.AuthorizedRaw(sim);
        async Task<(List<JsonElement> Items, string DeltaLink)> Round(string url)
        {
            var all = new List<JsonElement>();
            while (true)
            {
                var doc = await SimHarness.GetJson(http, url);
                all.AddRange(doc.RootElement.GetProperty("value").EnumerateArray().Select(e => e.Clone()));
                if (doc.RootElement.TryGetProperty("@odata.deltaLink", out var dl)) return (all, dl.GetString()!);
                url = doc.RootElement.GetProperty("@odata.nextLink").GetString()!;
            }
        }
        var (_, userLink) = await Round($"{sim.GraphBaseUrl}/users/delta?$select=id,displayName,accountEnabled");
        var (_, groupLink) = await Round($"{sim.GraphBaseUrl}/groups/delta?$select=id,displayName,members");
        var applied = await sim.MutateAsync(12, seed: 3, kinds: ["deleteUser", "disableUser", "removeMembership", "addMembership"]);
        var (users, _) = await Round(userLink);
        var (groups, _) = await Round(groupLink);
        foreach (var m in applied.Where(a => a.Kind == "deleteUser"))
            Assert.Contains(users, u => u.GetProperty("id").GetString() == m.Id && u.TryGetProperty("@removed", out var r) && r.GetProperty("reason").GetString() is "changed" or "deleted");
        foreach (var m in applied.Where(a => a.Kind == "disableUser"))
            Assert.Contains(users, u => u.GetProperty("id").GetString() == m.Id && !u.GetProperty("accountEnabled").GetBoolean());
        foreach (var m in applied.Where(a => a.Kind == "removeMembership"))
            Assert.Contains(groups, g => g.GetProperty("id").GetString() == m.Id && g.TryGetProperty("members@delta", out var md)
                && md.EnumerateArray().Any(x => x.GetProperty("id").GetString() == m.Detail && x.TryGetProperty("@removed", out _)));
        foreach (var m in applied.Where(a => a.Kind == "addMembership"))
            Assert.Contains(groups, g => g.GetProperty("id").GetString() == m.Id && g.TryGetProperty("members@delta", out var md)
                && md.EnumerateArray().Any(x => x.GetProperty("id").GetString() == m.Detail && !x.TryGetProperty("@removed", out _)));
        Assert.True(users.Count < 24 + 5, "an incremental round returns changes, not everyone");
    }

    [Fact]
    public async Task Group_creation_and_deletion_on_request_show_in_the_next_group_delta()
    {
        await using var sim = await SimHarness.StartAsync("small", 10);
        using var http = await SimHarness.AuthorizedRaw(sim);
        async Task<(List<JsonElement> Items, string Link)> Round(string url)
        {
            var all = new List<JsonElement>();
            while (true)
            {
                using var doc = await SimHarness.GetJson(http, url);
                all.AddRange(doc.RootElement.GetProperty("value").EnumerateArray().Select(e => e.Clone()));
                if (doc.RootElement.TryGetProperty("@odata.deltaLink", out var dl)) return (all, dl.GetString()!);
                url = doc.RootElement.GetProperty("@odata.nextLink").GetString()!;
            }
        }
        var (_, link) = await Round($"{sim.GraphBaseUrl}/groups/delta?$select=id,displayName,members");
        var created = await sim.MutateAsync(1, seed: 1, kinds: ["createGroup"]);
        var deleted = await sim.MutateAsync(1, seed: 2, kinds: ["deleteGroup"]);
        var (groups, _) = await Round(link);
        Assert.Contains(groups, g => g.GetProperty("id").GetString() == created[0].Id && g.GetProperty("members@delta").GetArrayLength() > 0);
        Assert.Contains(groups, g => g.GetProperty("id").GetString() == deleted[0].Id && g.GetProperty("@removed").GetProperty("reason").GetString() == "changed");
        using var truth = await sim.GetStateAsync();
        Assert.True(truth.RootElement.GetProperty("groups").EnumerateArray().Single(g => g.GetProperty("id").GetString() == deleted[0].Id).GetProperty("deleted").GetBoolean());
        Assert.All(truth.RootElement.GetProperty("memberships").EnumerateArray().Where(m => m.GetProperty("groupId").GetString() == deleted[0].Id),
            m => Assert.True(m.GetProperty("deleted").GetBoolean()));
    }

    [Fact]
    public async Task Same_seed_and_same_mutation_sequence_give_identical_ground_truth()
    {
        async Task<string> Run(int seed)
        {
            var sim = new Simulator(new SimulatorOptions { Profile = "small", Seed = seed, CertDir = SimHarness.CertDir });
            foreach (var (count, s) in new (int, int?)[] { (50, 1), (30, null), (20, 9) })
            {
                sim.Lock.EnterWriteLock();
                try { Mutations.Apply(sim, count, s, null); }
                finally { sim.Lock.ExitWriteLock(); }
            }
            using var ms = new MemoryStream();
            await GroundTruth.WriteAsync(sim.Tenant, ms, default);
            return System.Text.Encoding.UTF8.GetString(ms.ToArray());
        }
        var a = await Run(11);
        var b = await Run(11);
        var c = await Run(12);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.Contains("\"deleted\":true", a);
    }

    [Fact]
    public async Task Mutate_endpoint_rejects_bad_input()
    {
        await using var sim = await SimHarness.StartAsync("tiny", 1);
        using var http = SimHarness.Http(sim);
        var bad = await http.PostAsJsonAsync($"{sim.BaseUrl}/_sim/mutate", new { count = 1, kinds = new[] { "explode" } });
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, bad.StatusCode);
        var neg = await http.PostAsJsonAsync($"{sim.BaseUrl}/_sim/mutate", new { count = -1 });
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, neg.StatusCode);
    }
}
