using System.Text.Json;
using Sentinel.Features.Live;
using Sentinel.GraphSimulator;
using Sentinel.Tests.Ingestion;

namespace Sentinel.Tests.Live;

/// <summary>A simulator that pages permission lists after two entries, so an ordinary item's list spans several pages.</summary>
public sealed class TinyPermissionPagesFixture : SimulatorFixture
{
    public const int PageSize = 2;
    protected override void ConfigureSimulator(SimulatorOptions options) => options.PermissionsPageSize = PageSize;
}

/// <summary>The live drill-down reads a paged permission list in full (SDK page iterator), through the product's pipeline.</summary>
public sealed class GetLiveDriveItemPermissionsTests(TinyPermissionPagesFixture f) : IClassFixture<TinyPermissionPagesFixture>
{
    [Fact]
    public async Task Should_read_every_page_of_a_long_permission_list()
    {
        using var state = await f.StateAsync();
        var item = state.RootElement.GetProperty("items").EnumerateArray()
            .Where(i => !i.GetProperty("deleted").GetBoolean())
            .MaxBy(i => i.GetProperty("effectivePermissionIds").GetArrayLength());
        var expected = item.GetProperty("effectivePermissionIds").EnumerateArray().Select(p => p.GetString()!).ToHashSet();
        Assert.True(expected.Count > 2 * TinyPermissionPagesFixture.PageSize, $"the test needs a list of 3+ pages, the longest has {expected.Count}");
        await f.ResetStatsAsync();

        var live = await f.SendAsync(new GetLiveDriveItemPermissions.Query(item.GetProperty("driveId").GetString()!, item.GetProperty("id").GetString()!));

        Assert.Equal(expected.Order(), live.Permissions.Select(p => p.PermissionId).Order());
        var pages = (await f.StatsAsync()).GetProperty("requestsByEndpoint").GetProperty("drives/{id}/items/{id}/permissions").GetInt64();
        Assert.Equal((expected.Count + TinyPermissionPagesFixture.PageSize - 1) / TinyPermissionPagesFixture.PageSize, pages);
        // Read in full, nothing stored shows up as "removed" when the stored rows are the same permissions.
        var stored = live.Permissions.Select(p => new Sentinel.Features.Inventory.GetItemDetail.Permission(p.PermissionId, p.Roles, p.LinkType, p.LinkScope,
            p.LinkExpirationDt, null, null, null, [])).ToList();
        Assert.DoesNotContain(PermissionDiff.Compare(stored, live.Permissions), r => r.Kind == PermissionDiff.Kind.Removed);
    }
}
