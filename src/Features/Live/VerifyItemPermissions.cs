using FluentValidation;
using MediatR;
using Sentinel.Features.Inventory;

namespace Sentinel.Features.Live;

/// <summary>
/// "Verify live" on the item page: the stored permissions (GetItemDetail) beside the live ones
/// (GetLiveDriveItemPermissions), compared by <see cref="PermissionDiff"/>. A Graph failure is part of the result,
/// not an exception: the page shows it inline and keeps the stored view. An item not in the inventory is a 404.
/// </summary>
public static class VerifyItemPermissions
{
    public sealed record Query(string DriveId, string ItemId) : IRequest<Result>;

    public sealed record Result(DateTimeOffset? FetchedAt, IReadOnlyList<PermissionDiff.Row> Rows, string? Error);

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator()
        {
            RuleFor(q => q.DriveId).GraphId("drive_id", "drive");
            RuleFor(q => q.ItemId).GraphId("item_id", "item");
        }
    }

    internal sealed class Handler(IMediator mediator) : IRequestHandler<Query, Result>
    {
        public async Task<Result> Handle(Query request, CancellationToken ct)
        {
            var stored = await mediator.Send(new GetItemDetail.Query(request.DriveId, request.ItemId), ct);
            try
            {
                var live = await mediator.Send(new GetLiveDriveItemPermissions.Query(request.DriveId, request.ItemId), ct);
                return new Result(live.FetchedAt, PermissionDiff.Compare(stored.Permissions, live.Permissions), null);
            }
            catch (LiveGraphException e)
            {
                return new Result(null, [], e.Message);
            }
        }
    }
}
