using Sentinel.Features.Inventory;
using Sentinel.TestSupport;
using Sentinel.Tests.Ingestion;

namespace Sentinel.Tests.Inventory;

/// <summary>
/// The first page of every inventory list over the ingested small tenant, through the mediator. Timestamps come
/// from the simulator's fixed epoch and the injected run clock, so they stay in the snapshots.
/// </summary>
[Collection(IngestedTenantCollection.Name)]
public sealed class ListSnapshotTests(IngestedTenantFixture fixture)
{
    private const int PageRows = 5;

    [Fact]
    public async Task Users_sorted_by_name_with_their_reach() =>
        Snapshot.Match(await fixture.SendAsync(new ListUsers.Query(Limit: PageRows)), keepDates: true);

    [Fact]
    public async Task Guests_with_the_widest_reach_first() =>
        Snapshot.Match(await fixture.SendAsync(new ListUsers.Query(UserType: "Guest", Sort: "reach", Descending: true, Limit: PageRows)), keepDates: true);

    [Fact]
    public async Task Groups_sorted_by_name_with_member_counts() =>
        Snapshot.Match(await fixture.SendAsync(new ListGroups.Query(Limit: PageRows)), keepDates: true);

    [Fact]
    public async Task Sites_sorted_by_name_with_drive_counts() =>
        Snapshot.Match(await fixture.SendAsync(new ListSites.Query(Limit: PageRows)), keepDates: true);

    [Fact]
    public async Task Drives_sorted_by_name_with_site_and_owner() =>
        Snapshot.Match(await fixture.SendAsync(new ListDrives.Query(Limit: PageRows)), keepDates: true);

    [Fact]
    public async Task Live_items_sorted_by_name() =>
        Snapshot.Match(await fixture.SendAsync(new ListItems.Query(Deleted: DeletedFilter.Exclude, Limit: PageRows)), keepDates: true);

    [Fact]
    public async Task Soft_deleted_users_only_stamped_with_the_run_time() =>
        Snapshot.Match(await fixture.SendAsync(new ListUsers.Query(Deleted: DeletedFilter.Only, Limit: PageRows)), keepDates: true);

    [Fact]
    public async Task Live_permissions_riskiest_first() =>
        Snapshot.Match(await fixture.SendAsync(new ListPermissions.Query(Deleted: DeletedFilter.Exclude, Limit: PageRows)), keepDates: true);

    [Fact]
    public async Task Anyone_links_with_their_grantees() =>
        Snapshot.Match(await fixture.SendAsync(new ListPermissions.Query(LinkScope: "anonymous", Deleted: DeletedFilter.Exclude, Sort: "id", Limit: PageRows)), keepDates: true);
}
