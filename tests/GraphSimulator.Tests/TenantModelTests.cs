namespace Sentinel.GraphSimulator.Tests;

public sealed class TenantModelTests
{
    private static Simulator Build(string profile = "small", int seed = 42) =>
        new(new SimulatorOptions { Profile = profile, Seed = seed, CertDir = SimHarness.CertDir });

    [Fact]
    public void Item_ids_are_sharepoint_shaped_unique_and_decode_back_to_their_index()
    {
        var t = Build().Tenant;
        var seen = new HashSet<string>();
        for (var i = 0; i < t.ItemCount; i++)
        {
            var id = t.ItemId(i);
            Assert.Equal(34, id.Length);
            Assert.StartsWith("01", id);
            Assert.True(seen.Add(id));
            Assert.Equal(i, t.ParseItemId(id));
        }
        Assert.Equal(-1, t.ParseItemId("01" + new string('A', 32)));
        Assert.Equal(-1, Build(seed: 43).Tenant.ParseItemId(t.ItemId(5))); // another tenant's id
    }

    [Fact]
    public void Span_formatted_names_and_web_urls_equal_the_string_versions_including_escaping()
    {
        var t = Build().Tenant;
        var file = Enumerable.Range(0, t.ItemCount).First(i => !t.IsFolder(i) && t.ItemParent[i] >= 0);
        t.NameOverrides[file] = "Résumé & #1 (final) 😀.docx";
        Span<char> name = stackalloc char[256];
        Span<char> url = stackalloc char[2048];
        for (var i = 0; i < t.ItemCount; i++)
        {
            var n = t.FormatName(i, name);
            Assert.Equal(t.ItemName(i), name[..n].ToString());
            Assert.Equal(t.ItemWebUrl(i), url[..t.FormatWebUrl(i, name[..n], url)].ToString());
        }
        Assert.EndsWith("/R%C3%A9sum%C3%A9%20%26%20%231%20%28final%29%20%F0%9F%98%80.docx", t.ItemWebUrl(file));
    }

    [Fact]
    public void Large_profile_is_compact()
    {
        var before = GC.GetTotalMemory(true);
        var sim = Build("large");
        var t = sim.Tenant;
        Assert.Equal(10_000, t.Users.Count);
        Assert.Equal(2_000, t.Groups.Count);
        Assert.Equal(500, t.Sites.Count);
        Assert.InRange(t.ItemCount, 999_000, 1_001_000);
        var used = GC.GetTotalMemory(true) - before;
        Assert.True(used < 250L * 1024 * 1024, $"large tenant uses {used / 1048576} MiB");
        GC.KeepAlive(sim);
    }

    [Fact]
    public void Demo_profile_has_the_realistic_mix()
    {
        var t = Build("demo").Tenant;
        Assert.Equal(150, t.Users.Count);
        Assert.Equal(30, t.Groups.Count);
        Assert.Equal(12, t.Sites.Count);
        Assert.InRange(t.ItemCount, 19_000, 21_000);
        Assert.Contains(t.Users, u => u.Guest && u.PendingAcceptance);
        Assert.Contains(t.Users, u => !u.Guest && !u.Deleted && u.Drive < 0); // unlicensed: no OneDrive
        Assert.Contains(t.Users, u => !u.Enabled);
        Assert.Contains(t.Memberships, m => m.MemberIsGroup);
        var perms = t.PermissionsByItem.Values.SelectMany(p => p).ToList();
        var files = Enumerable.Range(0, t.ItemCount).Count(i => !t.IsFolder(i));
        Assert.InRange(t.PermissionsByItem.Count / (double)files, 0.02, 0.08); // a few percent have unique permissions
        Assert.Contains(perms, p => p.LinkScope == "anonymous");
        Assert.Contains(perms, p => p.LinkScope == "organization");
        Assert.Contains(perms, p => p.Expiration is not null && p.Expiration.CompareTo("2026") < 0 && !p.Expiration.StartsWith("0001")); // expired
    }
}
