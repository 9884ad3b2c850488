using System.Text.Json;
using FluentValidation;
using MediatR;
using Sentinel.Features.Graph;

namespace Sentinel.Features.Live;

/// <summary>GET /sites/{id}/permissions: who (which apps/principals) has access to the site, live and never persisted.</summary>
public static class GetLiveSiteAccess
{
    public sealed record Query(string SiteId) : IRequest<Result>;

    public sealed record Entry(string Id, string[] Roles, IReadOnlyList<string> Grantees);

    public sealed record Result(string SiteId, DateTimeOffset FetchedAt, IReadOnlyList<Entry> Permissions);

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator() =>
            RuleFor(q => q.SiteId).NotEmpty().MaximumLength(400).Matches(@"^[A-Za-z0-9!_\-\.,:]+$").WithMessage("site_id must be a Graph site id");
    }

    internal sealed class Handler(GraphHttp graph, TimeProvider clock) : IRequestHandler<Query, Result>
    {
        public async Task<Result> Handle(Query request, CancellationToken ct)
        {
            using var doc = await LiveGraph.GetAsync(graph, $"sites/{Uri.EscapeDataString(request.SiteId)}/permissions", ct);
            var entries = new List<Entry>();
            if (doc.RootElement.TryGetProperty("value", out var value) && value.ValueKind == JsonValueKind.Array)
            {
                foreach (var p in value.EnumerateArray())
                {
                    var roles = p.TryGetProperty("roles", out var r) && r.ValueKind == JsonValueKind.Array
                        ? r.EnumerateArray().Select(x => x.GetString() ?? "").ToArray() : [];
                    var grantees = new List<string>();
                    foreach (var prop in new[] { "grantedToIdentitiesV2", "grantedToIdentities" })
                        if (p.TryGetProperty(prop, out var ids) && ids.ValueKind == JsonValueKind.Array)
                            foreach (var set in ids.EnumerateArray())
                                foreach (var facet in set.EnumerateObject())
                                    if ((LiveGraph.Str(facet.Value, "displayName") ?? LiveGraph.Str(facet.Value, "id")) is { } name) grantees.Add($"{facet.Name}: {name}");
                    entries.Add(new Entry(LiveGraph.Str(p, "id") ?? "", roles, grantees.Distinct().ToList()));
                }
            }
            return new Result(request.SiteId, clock.GetUtcNow(), entries);
        }
    }
}
