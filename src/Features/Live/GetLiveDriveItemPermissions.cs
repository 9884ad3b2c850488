using System.Text.Json;
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
            RuleFor(q => q.DriveId).NotEmpty().MaximumLength(300).Matches(@"^[A-Za-z0-9!_\-\.]+$").WithMessage("drive_id must be a Graph drive id");
            RuleFor(q => q.ItemId).NotEmpty().MaximumLength(300).Matches(@"^[A-Za-z0-9!_\-\.]+$").WithMessage("item_id must be a Graph item id");
        }
    }

    internal sealed class Handler(GraphHttp graph, TimeProvider clock) : IRequestHandler<Query, Result>
    {
        public async Task<Result> Handle(Query request, CancellationToken ct)
        {
            using var doc = await LiveGraph.GetAsync(graph, $"drives/{Uri.EscapeDataString(request.DriveId)}/items/{Uri.EscapeDataString(request.ItemId)}/permissions", ct);
            var permissions = new List<Permission>();
            if (doc.RootElement.TryGetProperty("value", out var value) && value.ValueKind == JsonValueKind.Array)
            {
                foreach (var p in value.EnumerateArray())
                {
                    var link = p.TryGetProperty("link", out var l) && l.ValueKind == JsonValueKind.Object ? l : default;
                    var roles = p.TryGetProperty("roles", out var r) && r.ValueKind == JsonValueKind.Array
                        ? r.EnumerateArray().Select(x => x.GetString() ?? "").ToArray() : [];
                    DateTimeOffset? expires = DateTimeOffset.TryParse(LiveGraph.Str(p, "expirationDateTime"), out var e) ? e : null;
                    var inherited = p.TryGetProperty("inheritedFrom", out var inh) ? LiveGraph.Str(inh, "id") : null;
                    permissions.Add(new Permission(LiveGraph.Str(p, "id") ?? "", roles, LiveGraph.Str(link, "type"), LiveGraph.Str(link, "scope"),
                        expires, inherited,
                        PermissionGrant.Of(p).Select(g => new Grant(g.PrincipalType, g.PrincipalId, g.DisplayName, g.Email ?? g.Upn, g.IsExternal)).ToList()));
                }
            }
            return new Result(request.DriveId, request.ItemId, clock.GetUtcNow(), permissions);
        }
    }
}
