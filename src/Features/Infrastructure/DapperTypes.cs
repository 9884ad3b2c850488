using System.Data;
using Dapper;

namespace Sentinel.Features.Infrastructure;

/// <summary>
/// Npgsql reads timestamptz as a UTC DateTime; this lets Dapper map it into DateTimeOffset members and record
/// constructors (as UTC), and writes DateTimeOffset parameters as UTC (Npgsql refuses other offsets for timestamptz).
/// </summary>
public sealed class DateTimeOffsetTypeHandler : SqlMapper.TypeHandler<DateTimeOffset>
{
    private static int _registered;

    public static void Register()
    {
        if (Interlocked.Exchange(ref _registered, 1) == 0) SqlMapper.AddTypeHandler(new DateTimeOffsetTypeHandler());
    }

    public override void SetValue(IDbDataParameter parameter, DateTimeOffset value) => parameter.Value = value.ToUniversalTime();

    public override DateTimeOffset Parse(object value) => value switch
    {
        DateTimeOffset dto => dto.ToUniversalTime(),
        DateTime dt => new DateTimeOffset(DateTime.SpecifyKind(dt, dt.Kind == DateTimeKind.Local ? DateTimeKind.Local : DateTimeKind.Utc)).ToUniversalTime(),
        _ => throw new InvalidCastException($"cannot read {value.GetType().Name} as DateTimeOffset"),
    };
}
