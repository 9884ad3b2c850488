using Npgsql;

namespace Sentinel.Features.Infrastructure;

/// <summary>Turns DATABASE_URL (a postgres:// URI or an Npgsql connection string) into a connection string.</summary>
public static class DatabaseUrl
{
    public const string Variable = "DATABASE_URL";

    public static string ToConnectionString(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
            throw new ConfigurationException($"{Variable} is not set (expected postgres://user:pass@host:port/db or an Npgsql connection string)");

        value = value.Trim();
        if (value.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) ||
            value.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
            return FromUri(value);

        try
        {
            return new NpgsqlConnectionStringBuilder(value).ConnectionString;
        }
        catch (Exception e) when (e is ArgumentException or KeyNotFoundException or FormatException)
        {
            throw new ConfigurationException($"{Variable} is not a valid connection string (expected postgres://user:pass@host:port/db or Host=...;Database=...): {e.Message}");
        }
    }

    private static string FromUri(string value)
    {
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
            throw new ConfigurationException($"{Variable} is not a valid postgres:// URL (expected postgres://user:pass@host:port/db)");

        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host,
            Port = uri.IsDefaultPort || uri.Port <= 0 ? 5432 : uri.Port,
            Database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/')) is { Length: > 0 } db ? db : "postgres",
        };
        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            var parts = uri.UserInfo.Split(':', 2);
            builder.Username = Uri.UnescapeDataString(parts[0]);
            if (parts.Length == 2) builder.Password = Uri.UnescapeDataString(parts[1]);
        }
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = pair.Split('=', 2);
            var key = Uri.UnescapeDataString(kv[0]);
            var val = kv.Length == 2 ? Uri.UnescapeDataString(kv[1]) : "";
            try
            {
                builder[key switch { "sslmode" => "SSL Mode", "application_name" => "Application Name", _ => key }] = val;
            }
            catch (ArgumentException)
            {
                throw new ConfigurationException($"{Variable} has an unknown query parameter '{key}'");
            }
        }
        return builder.ConnectionString;
    }

    /// <summary>The connection string without its password, for messages.</summary>
    public static string Describe(string connectionString)
    {
        var b = new NpgsqlConnectionStringBuilder(connectionString);
        return $"{b.Host}:{b.Port}/{b.Database}";
    }
}

/// <summary>A configuration problem a user can fix; hosts print the message on one line and exit non-zero.</summary>
public sealed class ConfigurationException(string message) : Exception(message);
