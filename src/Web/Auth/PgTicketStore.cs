using System.Security.Cryptography;
using Dapper;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Web.Auth;

/// <summary>
/// Server-side sessions (<see cref="ITicketStore"/>) in web_sessions: the cookie holds only a random session id, the
/// authentication ticket stays here (serialized by ASP.NET Core's TicketSerializer, encrypted with Data Protection).
/// Sign-out deletes the row, so a cookie copied before it no longer authenticates anyone; a row past its absolute
/// (<see cref="AbsoluteExpiryItem"/>) or idle expiry is ignored and deleted.
/// </summary>
public sealed class PgTicketStore(Db db, IDataProtectionProvider protection, TimeProvider clock, WebSettings web) : ITicketStore
{
    /// <summary>AuthenticationProperties item holding the absolute end of the session (round-trip "O").</summary>
    public const string AbsoluteExpiryItem = ".sentinel.absolute_expires";

    private readonly IDataProtector _protector = protection.CreateProtector("Sentinel.Web.Sessions.v1");

    private const string InsertSql = """
        DELETE FROM web_sessions WHERE expires_at <= @Now OR idle_expires_at <= @Now;
        INSERT INTO web_sessions (session_id, user_oid, ticket, created_at, expires_at, idle_expires_at, updated_at)
        VALUES (@Id, @Oid, @Ticket, @Now, @Expires, @Idle, @Now)
        """;
    private const string UpdateSql = """
        UPDATE web_sessions SET ticket = @Ticket, idle_expires_at = least(@Idle, expires_at), updated_at = @Now
         WHERE session_id = @Id AND expires_at > @Now
        """;
    private const string SelectSql = "SELECT ticket FROM web_sessions WHERE session_id = @Id AND expires_at > @Now AND idle_expires_at > @Now";
    private const string DeleteSql = "DELETE FROM web_sessions WHERE session_id = @Id";

    public async Task<string> StoreAsync(AuthenticationTicket ticket)
    {
        var id = Convert.ToHexString(RandomNumberGenerator.GetBytes(32)).ToLowerInvariant();
        var now = clock.GetUtcNow();
        var absolute = AbsoluteExpiry(ticket.Properties) ?? now.AddHours(web.SessionHours);
        await using var connection = await db.OpenAsync();
        await connection.ExecuteAsync(InsertSql, new
        {
            Id = id, Oid = ticket.Principal.FindFirst("oid")?.Value, Ticket = Protect(ticket), Now = now,
            Expires = absolute, Idle = Min(now + web.SessionIdle, absolute),
        });
        return id;
    }

    public async Task RenewAsync(string key, AuthenticationTicket ticket)
    {
        var now = clock.GetUtcNow();
        await using var connection = await db.OpenAsync();
        await connection.ExecuteAsync(UpdateSql, new { Id = key, Ticket = Protect(ticket), Now = now, Idle = now + web.SessionIdle });
    }

    public async Task<AuthenticationTicket?> RetrieveAsync(string key)
    {
        await using var connection = await db.OpenAsync();
        var data = await connection.QuerySingleOrDefaultAsync<byte[]>(SelectSql, new { Id = key, Now = clock.GetUtcNow() });
        if (data is null) return null;
        try
        {
            return TicketSerializer.Default.Deserialize(_protector.Unprotect(data));
        }
        catch (CryptographicException)
        {
            return null; // key ring lost: the user signs in again
        }
    }

    public async Task RemoveAsync(string key)
    {
        await using var connection = await db.OpenAsync();
        await connection.ExecuteAsync(DeleteSql, new { Id = key });
    }

    public static DateTimeOffset? AbsoluteExpiry(AuthenticationProperties properties) =>
        properties.Items.TryGetValue(AbsoluteExpiryItem, out var v) && DateTimeOffset.TryParse(v, null, System.Globalization.DateTimeStyles.RoundtripKind, out var t) ? t : null;

    private byte[] Protect(AuthenticationTicket ticket) => _protector.Protect(TicketSerializer.Default.Serialize(ticket));

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}
