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
            RuleFor(q => q.DriveId).NotEmpty().MaximumLength(300).Matches(@"^[A-Za-z0-9!_\-\.]+$").WithMessage("drive_id must be a Graph drive id");
            RuleFor(q => q.ItemId).NotEmpty().MaximumLength(300).Matches(@"^[A-Za-z0-9!_\-\.]+$").WithMessage("item_id must be a Graph item id");
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
