using FluentValidation;
using MediatR;
using Sentinel.Features.Graph;
using Sentinel.Features.Ingestion;

namespace Sentinel.Features.Live;

/// <summary>
/// GET /drives/{d}/items/{i}/permissions, live and never persisted, flattened with the same grant rule as
/// ingestion (PermissionGrant.Of) so it compares one-to-one with the stored rows.
/// </summary>
public static class GetLiveDriveItemPermissions
{
    public sealed record Query(string DriveId, string ItemId) : IRequest<Result>;

    public sealed record Grant(string PrincipalType, string PrincipalId, string? DisplayName, string? Email, bool IsExternal);

    public sealed record Permission(string PermissionId, string[] Roles, string? LinkType, string? LinkScope, DateTimeOffset? LinkExpirationDt,
        string? InheritedFromId, IReadOnlyList<Grant> Grants);

    public sealed record Result(string DriveId, string ItemId, DateTimeOffset FetchedAt, IReadOnlyList<Permission> Permissions);

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator()
        {
            RuleFor(q => q.DriveId).GraphId("drive_id", "drive");
            RuleFor(q => q.ItemId).GraphId("item_id", "item");
        }
    }

    internal sealed class Handler(GraphClientFactory graph, TimeProvider clock) : IRequestHandler<Query, Result>
    {
        public async Task<Result> Handle(Query request, CancellationToken ct)
        {
            var client = graph.Create();
            var item = client.Drives[request.DriveId].Items[request.ItemId];
            var first = await LiveGraph.CallAsync(() => item.Permissions.GetAsync(cancellationToken: ct));
            // Permission lists are paged: read every page, or a long list shows false "removed" differences.
            var all = await LiveGraph.AllAsync(client, first, ct);
            var permissions = new List<Permission>(all.Count);
            foreach (var p in all)
            {
                using var json = await LiveGraph.ToJsonAsync(p);
                permissions.Add(new Permission(p.Id ?? "", p.Roles?.ToArray() ?? [], p.Link?.Type, p.Link?.Scope,
                    NoExpiry(p.ExpirationDateTime), string.IsNullOrEmpty(p.InheritedFrom?.Id) ? null : p.InheritedFrom.Id,
                    PermissionGrant.Of(json.RootElement)
                        .Select(g => new Grant(g.PrincipalType, g.PrincipalId, g.DisplayName, g.Email ?? g.Upn, g.IsExternal)).ToList()));
            }
            return new Result(request.DriveId, request.ItemId, clock.GetUtcNow(), permissions);
        }

        // "No expiry" may come as 0001-01-01T00:00:00Z (GRAPH_FACTS §3).
        private static DateTimeOffset? NoExpiry(DateTimeOffset? value) => value is { Year: > 1 } v ? v : null;
    }
}
