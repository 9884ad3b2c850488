using Microsoft.Graph.Models;
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

    internal sealed class Handler(GraphClientFactory graph, TimeProvider clock) : IRequestHandler<Query, Result>
    {
        public async Task<Result> Handle(Query request, CancellationToken ct)
        {
            var client = graph.Create();
            var first = await LiveGraph.CallAsync(() => client.Sites[request.SiteId].Permissions.GetAsync(cancellationToken: ct));
            var entries = new List<Entry>();
            foreach (var p in await LiveGraph.AllAsync(client, first, ct))
            {
                var grantees = new List<string>();
                foreach (var set in (p.GrantedToIdentitiesV2 ?? []).Cast<IdentitySet>().Concat(p.GrantedToIdentities ?? []))
                    foreach (var (facet, identity) in Facets(set))
                        if ((identity?.DisplayName ?? identity?.Id) is { } name) grantees.Add($"{facet}: {name}");
                entries.Add(new Entry(p.Id ?? "", p.Roles?.ToArray() ?? [], grantees.Distinct().ToList()));
            }
            return new Result(request.SiteId, clock.GetUtcNow(), entries);
        }

        private static IEnumerable<(string Facet, Identity? Identity)> Facets(IdentitySet set)
        {
            yield return ("application", set.Application);
            yield return ("user", set.User);
            yield return ("device", set.Device);
            if (set is not SharePointIdentitySet sp) yield break;
            yield return ("group", sp.Group);
            yield return ("siteUser", sp.SiteUser);
            yield return ("siteGroup", sp.SiteGroup);
        }
    }
}
