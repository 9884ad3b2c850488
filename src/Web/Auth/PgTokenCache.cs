using Dapper;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Identity.Client;
using Sentinel.Features.Infrastructure;

namespace Sentinel.Web.Auth;

/// <summary>
/// MSAL user token cache persisted in web_token_cache, one row per account (MSAL's suggested cache key),
/// encrypted with Data Protection. Tokens stay server-side; any web instance can acquire silently.
/// </summary>
public sealed class PgTokenCache(Db db, IDataProtectionProvider protection, TimeProvider clock)
{
    private readonly IDataProtector _protector = protection.CreateProtector("Sentinel.Web.TokenCache.v1");

    private const string LoadSql = "SELECT data FROM web_token_cache WHERE cache_key = @Key";
    private const string SaveSql = """
        INSERT INTO web_token_cache (cache_key, data, updated_at) VALUES (@Key, @Data, @Now)
        ON CONFLICT (cache_key) DO UPDATE SET data = EXCLUDED.data, updated_at = EXCLUDED.updated_at
        """;
    private const string DeleteSql = "DELETE FROM web_token_cache WHERE cache_key = @Key";

    public void Bind(ITokenCache cache)
    {
        cache.SetBeforeAccessAsync(async args =>
        {
            if (string.IsNullOrEmpty(args.SuggestedCacheKey)) return;
            await using var connection = await db.OpenAsync(args.CancellationToken);
            var data = await connection.ExecuteScalarAsync<byte[]?>(new CommandDefinition(LoadSql, new { Key = args.SuggestedCacheKey }, cancellationToken: args.CancellationToken));
            if (data is null) return;
            try
            {
                args.TokenCache.DeserializeMsalV3(_protector.Unprotect(data));
            }
            catch (System.Security.Cryptography.CryptographicException)
            {
                // Key ring lost: treat as an empty cache, the user signs in again.
            }
        });
        cache.SetAfterAccessAsync(async args =>
        {
            if (!args.HasStateChanged || string.IsNullOrEmpty(args.SuggestedCacheKey)) return;
            await using var connection = await db.OpenAsync(args.CancellationToken);
            if (args.HasTokens)
                await connection.ExecuteAsync(new CommandDefinition(SaveSql,
                    new { Key = args.SuggestedCacheKey, Data = _protector.Protect(args.TokenCache.SerializeMsalV3()), Now = clock.GetUtcNow() },
                    cancellationToken: args.CancellationToken));
            else
                await connection.ExecuteAsync(new CommandDefinition(DeleteSql, new { Key = args.SuggestedCacheKey }, cancellationToken: args.CancellationToken));
        });
    }
}
