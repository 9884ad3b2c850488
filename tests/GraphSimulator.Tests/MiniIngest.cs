using System.Text.Json;
using Microsoft.Graph;
using Microsoft.Graph.Models;
using GSite = Microsoft.Graph.Models.Site;

namespace Sentinel.GraphSimulator.Tests;

/// <summary>
/// A tiny ingestion written against the REAL Graph SDK the way the product should: delta rounds per drive with
/// WithUrl resume, last-wins, deleted facet, paths from the parent chain. Used to prove the simulator's deltas
/// converge to its ground truth.
/// </summary>
internal sealed class MiniIngest(GraphServiceClient client)
{
    public sealed record Item(string Id, string DriveId, string? ParentId, string? Name, bool IsFolder, bool Deleted, bool IsRoot);

    public readonly Dictionary<string, Item> Items = [];
    public readonly Dictionary<string, string> DeltaLinks = [];
    public int Pages, EmptyPagesWithNext, Duplicates, SharedChanged;

    /// <summary>Drives no longer listed (e.g. the OneDrive of a deleted user) take their items with them.</summary>
    public void DropDrivesOtherThan(IReadOnlyCollection<string> drives)
    {
        foreach (var i in Items.Values.Where(i => !drives.Contains(i.DriveId) && !i.Deleted).ToList()) Items[i.Id] = i with { Deleted = true };
        foreach (var d in DeltaLinks.Keys.Where(d => !drives.Contains(d)).ToList()) DeltaLinks.Remove(d);
    }

    public async Task<List<string>> DriveIds()
    {
        var ids = new List<string>();
        var sites = await client.Sites.GetAllSites.GetAsGetAllSitesGetResponseAsync();
        var all = new List<GSite>();
        var it = PageIterator<GSite, Microsoft.Graph.Sites.GetAllSites.GetAllSitesGetResponse>.CreatePageIterator(client, sites!, s => { all.Add(s); return true; });
        await it.IterateAsync();
        foreach (var s in all)
        {
            var drives = await client.Sites[s.Id].Drives.GetAsync();
            ids.AddRange(drives!.Value!.Select(d => d.Id!));
        }
        var users = await DeltaUsers();
        foreach (var u in users)
        {
            try
            {
                var d = await client.Users[u].Drive.GetAsync();
                ids.Add(d!.Id!);
            }
            catch (Microsoft.Graph.Models.ODataErrors.ODataError e) when (e.ResponseStatusCode == 404 && e.Error?.Code == "ResourceNotFound") { }
        }
        return ids;
    }

    public async Task<List<string>> DeltaUsers()
    {
        var live = new Dictionary<string, bool>();
        var page = await client.Users.Delta.GetAsDeltaGetResponseAsync(rc => rc.QueryParameters.Select = ["id", "displayName", "accountEnabled", "userType"]);
        while (true)
        {
            foreach (var u in page!.Value!) live[u.Id!] = !u.AdditionalData.ContainsKey("@removed");
            if (page.OdataNextLink is null) break;
            page = await client.Users.Delta.WithUrl(page.OdataNextLink).GetAsDeltaGetResponseAsync();
        }
        return live.Where(k => k.Value).Select(k => k.Key).ToList();
    }

    public async Task SyncDrive(string driveId, string? prefer = null)
    {
        var builder = client.Drives[driveId].Items["root"].Delta;
        var link = DeltaLinks.GetValueOrDefault(driveId);
        var page = link is null
            ? await builder.GetAsDeltaGetResponseAsync(rc => { if (prefer is not null) rc.Headers.Add("Prefer", prefer); })
            : await builder.WithUrl(link).GetAsDeltaGetResponseAsync(rc => { if (prefer is not null) rc.Headers.Add("Prefer", prefer); });
        var seen = new HashSet<string>();
        while (true)
        {
            Pages++;
            if (page!.Value!.Count == 0 && page.OdataNextLink is not null) EmptyPagesWithNext++;
            foreach (var i in page.Value)
            {
                if (!seen.Add(i.Id!)) Duplicates++;
                if (i.AdditionalData.TryGetValue("@microsoft.graph.sharedChanged", out var sc) && sc?.ToString() == "True") SharedChanged++;
                var prev = Items.GetValueOrDefault(i.Id!);
                Items[i.Id!] = new Item(i.Id!, driveId, i.ParentReference?.Id ?? prev?.ParentId, i.Name ?? prev?.Name,
                    i.Folder is not null || i.Root is not null || (prev?.IsFolder ?? false), i.Deleted is not null, i.Root is not null);
            }
            if (page.OdataDeltaLink is not null) { DeltaLinks[driveId] = page.OdataDeltaLink; break; }
            Assert.NotNull(page.OdataNextLink);
            Assert.StartsWith("https://", page.OdataNextLink);
            page = await builder.WithUrl(page.OdataNextLink).GetAsDeltaGetResponseAsync(rc => { if (prefer is not null) rc.Headers.Add("Prefer", prefer); });
        }
    }

    public string PathOf(Item i)
    {
        if (i.IsRoot) return "/";
        var parts = new List<string>();
        for (var c = i; c is not null && !c.IsRoot; c = c.ParentId is null ? null : Items.GetValueOrDefault(c.ParentId)) parts.Add(c.Name!);
        parts.Reverse();
        return "/" + string.Join('/', parts);
    }

    /// <summary>Live items of the truth equal our live items (id, parent, name, path, folder flag); nothing extra is live.</summary>
    public static void AssertMatchesTruth(MiniIngest ing, JsonDocument truth)
    {
        var live = truth.RootElement.GetProperty("items").EnumerateArray().Where(x => !x.GetProperty("deleted").GetBoolean()).ToList();
        var mine = ing.Items.Values.Where(x => !x.Deleted).ToDictionary(x => x.Id);
        foreach (var t in live)
        {
            var id = t.GetProperty("id").GetString()!;
            Assert.True(mine.TryGetValue(id, out var m), $"missing live item {id} {t.GetProperty("path").GetString()}");
            Assert.Equal(t.GetProperty("path").GetString(), ing.PathOf(m!));
            Assert.Equal(t.GetProperty("isFolder").GetBoolean(), m!.IsFolder);
            Assert.Equal(t.GetProperty("parentId").ValueKind == JsonValueKind.Null ? null : t.GetProperty("parentId").GetString(), m.ParentId);
        }
        Assert.Equal(live.Count, mine.Count);
    }
}
