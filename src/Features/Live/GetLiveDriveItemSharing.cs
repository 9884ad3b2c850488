using FluentValidation;
using MediatR;
using Sentinel.Features.Graph;

namespace Sentinel.Features.Live;

/// <summary>GET /drives/{d}/items/{i}: the item's live name, path and sharing facet (never persisted).</summary>
public static class GetLiveDriveItemSharing
{
    public sealed record Query(string DriveId, string ItemId) : IRequest<Result>;

    public sealed record Result(string DriveId, string ItemId, string? Name, string? WebUrl, bool Shared, string? SharedScope,
        DateTimeOffset? LastModifiedDateTime, bool Deleted, DateTimeOffset FetchedAt);

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
            var item = await LiveGraph.CallAsync(() => graph.Create().Drives[request.DriveId].Items[request.ItemId].GetAsync(cancellationToken: ct));
            return new Result(request.DriveId, request.ItemId, item.Name, item.WebUrl, item.Shared is not null,
                item.Shared?.Scope, item.LastModifiedDateTime, item.Deleted is not null, clock.GetUtcNow());
        }
    }
}
