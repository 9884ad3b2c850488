using Dapper;
using Microsoft.Extensions.Caching.Distributed;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Web.Auth;

/// <summary>
/// <see cref="IDistributedCache"/> over web_distributed_cache, the store behind Identity.Web's distributed token cache
/// (<c>AddDistributedTokenCaches</c>): every web instance shares the users' and the app's MSAL caches. Identity.Web
/// encrypts the values (Data Protection) before they reach this class. Expired rows are ignored on read and deleted
/// on write; sliding entries are refreshed on read, never past their absolute expiry.
/// </summary>
public sealed class PgDistributedCache(Db db, TimeProvider clock) : IDistributedCache
{
    private const string GetSql = """
        UPDATE web_distributed_cache
           SET expires_at = CASE WHEN sliding_seconds IS NULL THEN expires_at
                                 ELSE least(@Now + make_interval(secs => sliding_seconds), coalesce(absolute_expires_at, 'infinity')) END
         WHERE cache_key = @Key AND expires_at > @Now
        RETURNING value
        """;
    private const string SetSql = """
        DELETE FROM web_distributed_cache WHERE expires_at <= @Now;
        INSERT INTO web_distributed_cache (cache_key, value, expires_at, sliding_seconds, absolute_expires_at)
        VALUES (@Key, @Value, @ExpiresAt, @Sliding, @Absolute)
        ON CONFLICT (cache_key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at,
            sliding_seconds = EXCLUDED.sliding_seconds, absolute_expires_at = EXCLUDED.absolute_expires_at
        """;
    private const string RemoveSql = "DELETE FROM web_distributed_cache WHERE cache_key = @Key";

    /// <summary>Entries without any expiry still leave after this long (a token cache is useless after its refresh token's lifetime).</summary>
    public static readonly TimeSpan DefaultLifetime = TimeSpan.FromDays(90);

    public byte[]? Get(string key) => GetAsync(key).GetAwaiter().GetResult();

    public async Task<byte[]?> GetAsync(string key, CancellationToken token = default)
    {
        await using var connection = await db.OpenAsync(token);
        return await connection.QuerySingleOrDefaultAsync<byte[]>(new CommandDefinition(GetSql, new { Key = key, Now = clock.GetUtcNow() }, cancellationToken: token));
    }

    public void Set(string key, byte[] value, DistributedCacheEntryOptions options) => SetAsync(key, value, options).GetAwaiter().GetResult();

    public async Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default)
    {
        var now = clock.GetUtcNow();
        DateTimeOffset? absolute = options.AbsoluteExpiration ?? (options.AbsoluteExpirationRelativeToNow is { } rel ? now + rel : null);
        var sliding = options.SlidingExpiration;
        var expires = sliding is { } s ? now + s : absolute ?? now + DefaultLifetime;
        if (absolute is { } a && a < expires) expires = a;
        await using var connection = await db.OpenAsync(token);
        await connection.ExecuteAsync(new CommandDefinition(SetSql, new
        {
            Key = key, Value = value, ExpiresAt = expires, Sliding = sliding is { } sl ? (int?)Math.Max(1, (int)sl.TotalSeconds) : null,
            Absolute = absolute, Now = now,
        }, cancellationToken: token));
    }

    public void Refresh(string key) => RefreshAsync(key).GetAwaiter().GetResult();

    public Task RefreshAsync(string key, CancellationToken token = default) => GetAsync(key, token);

    public void Remove(string key) => RemoveAsync(key).GetAwaiter().GetResult();

    public async Task RemoveAsync(string key, CancellationToken token = default)
    {
        await using var connection = await db.OpenAsync(token);
        await connection.ExecuteAsync(new CommandDefinition(RemoveSql, new { Key = key }, cancellationToken: token));
    }
}
