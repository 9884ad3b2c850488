using FluentValidation;
using MediatR;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Exports;

/// <summary>
/// Audits one CSV export (export.csv): who exported which list with which filter, how many rows left the
/// building, and whether the download completed. Filters are the list's own query parameters: no secrets.
/// </summary>
public static class RecordExport
{
    public sealed record Command(Actor Actor, string List, IReadOnlyDictionary<string, string> Filter, long Rows, bool Completed) : IRequest<Unit>;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.List).NotEmpty().MaximumLength(50).WithMessage("list must be a list name (1-50 characters)");
            RuleFor(c => c.Rows).GreaterThanOrEqualTo(0).WithMessage("rows must not be negative");
        }
    }

    internal sealed class Handler(Db db, TimeProvider clock) : IRequestHandler<Command, Unit>
    {
        public async Task<Unit> Handle(Command request, CancellationToken ct)
        {
            await using var connection = await db.OpenAsync(ct);
            await Audit.WriteAsync(connection, null, clock.GetUtcNow(), request.Actor, "export.csv", "list", request.List,
                new { filter = request.Filter, rows = request.Rows, completed = request.Completed }, ct);
            return Unit.Value;
        }
    }
}
