using Dapper;
using FluentValidation;
using MediatR;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Features.Changes;

/// <summary>
/// "Reviewed up to here": the reviewer has looked at every change up to and including <see cref="Command.UpToChangeId"/>.
/// Stored per reviewer (their dashboard then counts only newer changes) and audited (posture.reviewed).
/// </summary>
public static class MarkReviewed
{
    public sealed record Command(long UpToChangeId, string? Note, Actor Actor) : IRequest<Result>;

    public sealed record Result(Guid ReviewId, long UpToChangeId, long ChangesReviewed, DateTimeOffset ReviewedAt);

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.UpToChangeId).GreaterThan(0).WithMessage("up_to must be a change id");
            RuleFor(c => c.Note).MaximumLength(500).WithMessage("note must be at most 500 characters");
            RuleFor(c => c.Actor).Must(a => !string.IsNullOrEmpty(a.Oid) || !string.IsNullOrEmpty(a.Upn)).WithMessage("a review needs a signed-in reviewer");
        }
    }

    private const string StateSql = """
        SELECT (SELECT max(change_id) FROM posture_changes) AS newest,
               (SELECT max(up_to_change_id) FROM posture_reviews
                 WHERE (@Oid::text IS NOT NULL AND actor_oid = @Oid) OR (@Oid::text IS NULL AND actor_upn = @Upn)) AS previous
        """;

    private const string InsertSql = """
        INSERT INTO posture_reviews (review_id, reviewed_at, up_to_change_id, actor_oid, actor_upn, actor_name, note)
        VALUES (@ReviewId, @Now, @UpTo, @Oid, @Upn, @Name, @Note)
        """;

    internal sealed class Handler(Db db, TimeProvider clock) : IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command request, CancellationToken ct)
        {
            var now = clock.GetUtcNow();
            await using var connection = await db.OpenAsync(ct);
            await using var tx = await connection.BeginTransactionAsync(ct);
            var state = await connection.QuerySingleAsync<(long? Newest, long? Previous)>(new CommandDefinition(StateSql,
                new { request.Actor.Oid, request.Actor.Upn }, tx, cancellationToken: ct));
            if (state.Newest is null || request.UpToChangeId > state.Newest)
                throw RequestValidationException.For("up_to", "up_to must be a recorded change (it is newer than the newest change)");
            var reviewed = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "SELECT count(*) FROM posture_changes WHERE change_id > @Previous AND change_id <= @UpTo",
                new { Previous = state.Previous ?? 0, UpTo = request.UpToChangeId }, tx, cancellationToken: ct));
            var id = Guid.NewGuid();
            await connection.ExecuteAsync(new CommandDefinition(InsertSql, new
            {
                ReviewId = id, Now = now, UpTo = request.UpToChangeId, request.Actor.Oid, request.Actor.Upn, request.Actor.Name,
                Note = string.IsNullOrWhiteSpace(request.Note) ? null : request.Note.Trim(),
            }, tx, cancellationToken: ct));
            await Audit.WriteAsync(connection, tx, now, request.Actor, "posture.reviewed", "posture_review", id.ToString(),
                new { up_to_change_id = request.UpToChangeId, previous_up_to = state.Previous, changes_reviewed = reviewed, note = request.Note }, ct);
            await tx.CommitAsync(ct);
            return new Result(id, request.UpToChangeId, reviewed, now);
        }
    }
}
