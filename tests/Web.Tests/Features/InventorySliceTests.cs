using Sentinel.Features.Infrastructure;
using Sentinel.Features.Inventory;
using Sentinel.Features.Live;
using Sentinel.TestSupport;

namespace Sentinel.Web.Tests.Features;

/// <summary>The inventory slices through the mediator against real PostgreSQL (no web host).</summary>
public sealed class InventorySliceTests : IClassFixture<SliceFixture>, IAsyncLifetime
{
    private readonly SliceFixture _fx;

    public InventorySliceTests(SliceFixture fx) => _fx = fx;

    public async Task InitializeAsync()
    {
        if (await _fx.ScalarAsync<long>("SELECT count(*) FROM msgraph_drive_items") > 0) return;
        // 23 files in one drive with many equal sizes (ties must not lose or repeat rows across pages).
        await _fx.ExecuteAsync("""
            INSERT INTO msgraph_drives (id, name, drive_type) VALUES ('d1', 'Docs', 'documentLibrary');
            INSERT INTO msgraph_drive_items (id, drive_id, name, path, is_folder, size, modified_dt, deleted_at)
            SELECT 'i' || g, 'd1', 'file ' || (g % 5), '/file ' || g, false, CASE WHEN g % 3 = 0 THEN NULL ELSE (g % 4) * 100 END,
                   '2026-01-01'::timestamptz + g * interval '1 hour', CASE WHEN g = 7 THEN now() END
              FROM generate_series(1, 23) g;
            """);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Theory]
    [InlineData("name", false)]
    [InlineData("name", true)]
    [InlineData("size", false)]
    [InlineData("size", true)]
    [InlineData("modified", true)]
    public async Task Keyset_pages_return_every_row_exactly_once_in_order(string sort, bool descending)
    {
        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await _fx.SendAsync(new ListItems.Query(Sort: sort, Descending: descending, Cursor: cursor, Limit: 4));
            seen.AddRange(page.Rows.Select(r => r.Id));
            cursor = page.NextCursor;
            pages++;
        } while (cursor is not null && pages < 50);
        Assert.Equal(23, seen.Count);
        Assert.Equal(23, seen.Distinct().Count());
        Assert.Equal(6, pages);
    }

    [Fact]
    public async Task Deleted_filter_hides_or_isolates_soft_deleted_rows()
    {
        var live = await _fx.SendAsync(new ListItems.Query(Deleted: DeletedFilter.Exclude, Limit: 100));
        var deleted = await _fx.SendAsync(new ListItems.Query(Deleted: DeletedFilter.Only, Limit: 100));
        Assert.Equal(22, live.Rows.Count);
        Assert.Equal("i7", Assert.Single(deleted.Rows).Id);
    }

    [Fact]
    public async Task A_garbled_cursor_or_unknown_sort_is_a_validation_error_naming_the_field()
    {
        var e = await Assert.ThrowsAsync<RequestValidationException>(() => _fx.SendAsync(new ListItems.Query(Sort: "bogus", Cursor: "!!")));
        Assert.Contains("sort", e.Errors.Keys);
        Assert.Contains("cursor", e.Errors.Keys);
    }

    /// <summary>One inventory list by name, with the shared inputs its validator judges.</summary>
    private Task Send(string list, string deleted, int limit, bool export) => list switch
    {
        "users" => _fx.SendAsync(new ListUsers.Query(Deleted: deleted, Limit: limit, Export: export)),
        "groups" => _fx.SendAsync(new ListGroups.Query(Deleted: deleted, Limit: limit, Export: export)),
        "sites" => _fx.SendAsync(new ListSites.Query(Deleted: deleted, Limit: limit, Export: export)),
        "drives" => _fx.SendAsync(new ListDrives.Query(Deleted: deleted, Limit: limit, Export: export)),
        "items" => _fx.SendAsync(new ListItems.Query(Deleted: deleted, Limit: limit, Export: export)),
        "permissions" => _fx.SendAsync(new ListPermissions.Query(Deleted: deleted, Limit: limit, Export: export)),
        _ => throw new ArgumentOutOfRangeException(nameof(list)),
    };

    [Theory]
    [InlineData("users"), InlineData("groups"), InlineData("sites"), InlineData("drives"), InlineData("items"), InlineData("permissions")]
    public async Task Every_list_rejects_an_unknown_deleted_value_naming_the_field_and_the_values(string list)
    {
        var e = await Assert.ThrowsAsync<RequestValidationException>(() => Send(list, "maybe", 50, export: false));
        Assert.Equal(["deleted must be one of: all, exclude, only"], e.Errors["deleted"]);
        foreach (var value in DeletedFilter.Values) await Send(list, value, 50, export: false);
    }

    [Theory]
    [InlineData("users"), InlineData("groups"), InlineData("sites"), InlineData("drives"), InlineData("items"), InlineData("permissions")]
    public async Task A_page_holds_at_most_200_rows_and_an_export_page_at_most_100000(string list)
    {
        await Send(list, DeletedFilter.All, InventoryQuery.MaxPageSize, export: false);
        foreach (var limit in new[] { 0, InventoryQuery.MaxPageSize + 1 })
        {
            var page = await Assert.ThrowsAsync<RequestValidationException>(() => Send(list, DeletedFilter.All, limit, export: false));
            Assert.Equal(["limit must be between 1 and 200"], page.Errors["limit"]);
        }
        await Send(list, DeletedFilter.All, 1000, export: true);
        var export = await Assert.ThrowsAsync<RequestValidationException>(() => Send(list, DeletedFilter.All, InventoryQuery.MaxExportRows + 1, export: true));
        Assert.Equal(["limit must be between 1 and 100000 for an export"], export.Errors["limit"]);
    }

    [Fact]
    public void Permission_diff_flags_added_removed_and_changed_permissions()
    {
        GetItemDetail.Permission Cached(string id, string? scope, params string[] grantees) =>
            new(id, ["read"], "view", scope, null, null, null, null,
                grantees.Select(g => new GetItemDetail.Grant("user", g, g, null, false, null, [])).ToList());
        GetLiveDriveItemPermissions.Permission Live(string id, string? scope, params string[] grantees) =>
            new(id, ["read"], "view", scope, null, null, grantees.Select(g => new GetLiveDriveItemPermissions.Grant("user", g, g, null, false)).ToList());

        var rows = PermissionDiff.Compare(
            [Cached("same", "anonymous"), Cached("gone", "organization"), Cached("regranted", null, "u1")],
            [Live("same", "anonymous"), Live("regranted", null, "u2"), Live("new", "anonymous")]);

        Assert.Equal(PermissionDiff.Kind.Same, rows.Single(r => r.PermissionId == "same").Kind);
        Assert.Equal(PermissionDiff.Kind.Removed, rows.Single(r => r.PermissionId == "gone").Kind);
        Assert.Equal(PermissionDiff.Kind.Added, rows.Single(r => r.PermissionId == "new").Kind);
        var changed = rows.Single(r => r.PermissionId == "regranted");
        Assert.Equal(PermissionDiff.Kind.Changed, changed.Kind);
        Assert.Equal(["grantees"], changed.ChangedFields);
    }
}
