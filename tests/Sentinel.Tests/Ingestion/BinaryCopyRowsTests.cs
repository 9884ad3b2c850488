using Dapper;
using Sentinel.Features.Ingestion;
using Sentinel.TestSupport;

namespace Sentinel.Tests.Ingestion;

/// <summary>
/// The first full load encodes its rows in PostgreSQL's binary COPY format itself (BinaryCopyRows). Each value must be
/// stored exactly as PostgreSQL stores the same value given as text: multi-byte UTF-8, empty and NULL strings, rows
/// larger than the flush size, bigint limits, timestamps before and at PostgreSQL's epoch and with microseconds, jsonb
/// with escapes. An interrupted COPY is cancelled and leaves the connection usable.
/// </summary>
public sealed class BinaryCopyRowsTests(SliceFixture fixture) : IClassFixture<SliceFixture>
{
    private const string Table = """
        CREATE TEMP TABLE copy_rows (n text, t text, b bool, i bigint, ts timestamptz, j jsonb)
        """;

    private static readonly string Long = string.Concat(Enumerable.Repeat("Ünïcødé 🚀 long/path segment ", 4000)); // ≈ 130 KB

    public static TheoryData<int, string?, bool, long?, string?, string> Rows => new()
    {
        { 1, "plain", true, 0, "2026-02-22T09:55:52Z", """{"id":"01ABC","size":1714635}""" },
        { 2, "Ünïcødé 🚀 ø/å – “quotes”", false, long.MaxValue, "2000-01-01T00:00:00Z", """{"name":"Ünïcødé 🚀","esc":"a\"b\\c\u00e9\n"}""" },
        { 3, "", true, long.MinValue, "0001-01-01T00:00:00Z", """{"empty":"","nested":{"a":[1,2,{"b":null}]}}""" },
        { 4, null, false, null, null, "[]" },
        { 5, Long, true, -1, "2026-11-30T12:34:56.123456Z", "{\"long\":\"" + Long + "\"}" },
        { 6, "tz", false, 42, "1999-12-31T23:59:59.999999+02:00", "null" },
    };

    [Fact]
    public async Task Every_value_is_stored_as_PostgreSQL_stores_it_from_text()
    {
        await using var c = await fixture.OpenAsync();
        await c.ExecuteAsync(Table);
        await using (var tx = await c.BeginTransactionAsync())
        {
            await using var rows = await BinaryCopyRows.BeginAsync(c, "COPY copy_rows (n, t, b, i, ts, j) FROM STDIN (FORMAT BINARY)", CancellationToken.None);
            foreach (var row in Rows)
            {
                var (n, t, b, i, ts, j) = ((int)row[0], (string?)row[1], (bool)row[2], (long?)row[3], (string?)row[4], (string)row[5]);
                rows.StartRow(6);
                rows.Text(n.ToString(System.Globalization.CultureInfo.InvariantCulture));
                rows.Text(t);
                rows.Bool(b);
                rows.Int64(i);
                rows.Timestamp(ts is null ? null : DateTimeOffset.Parse(ts, System.Globalization.CultureInfo.InvariantCulture).UtcDateTime);
                rows.Jsonb(System.Text.Encoding.UTF8.GetBytes(j));
                await rows.EndRowAsync(CancellationToken.None);
            }
            await rows.CompleteAsync(CancellationToken.None);
            await tx.CommitAsync();
        }

        foreach (var row in Rows)
        {
            var (n, t, b, i, ts, j) = ((int)row[0], (string?)row[1], (bool)row[2], (long?)row[3], (string?)row[4], (string)row[5]);
            // the stored row against the same values parsed by PostgreSQL from their text form
            var same = await c.ExecuteScalarAsync<bool>("""
                SELECT t IS NOT DISTINCT FROM @T AND b = @B AND i IS NOT DISTINCT FROM @I
                       AND ts IS NOT DISTINCT FROM @Ts::timestamptz AND j = @J::jsonb
                FROM copy_rows WHERE n = @N::text
                """, new { N = n, T = t, B = b, I = i, Ts = ts, J = j });
            Assert.True(same, $"row {n} differs from PostgreSQL's own parsing of its values");
        }
        Assert.Equal(Rows.Count(), await c.ExecuteScalarAsync<long>("SELECT count(*) FROM copy_rows"));
    }

    /// <summary>
    /// JSON strings written as text straight from a document (the first load's path, webUrl, user ids, …): as received
    /// when unescaped, unescaped otherwise — equal to PostgreSQL's own <c>->></c> of the same JSON; anything but a
    /// string is NULL.
    /// </summary>
    [Fact]
    public async Task A_JSON_string_is_stored_as_PostgreSQL_extracts_it()
    {
        const string json = """
            {"plain":"https://contoso.sharepoint.com/sites/x/Shared%20Documents/a.docx","unicode":"Ünïcødé 🚀 ø/å – “quotes”",
             "escaped":"a\"b\\c\u00e9\n\t/\/","pair":"\ud83d\ude80 rocket","empty":"","nul":null,"num":42,"obj":{"a":"b"}}
            """;
        string[] keys = ["plain", "unicode", "escaped", "pair", "empty", "nul", "num", "obj", "absent"];
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        await using var c = await fixture.OpenAsync();
        await c.ExecuteAsync("CREATE TEMP TABLE copy_strings (k text, v text)");
        await using (var rows = await BinaryCopyRows.BeginAsync(c, "COPY copy_strings (k, v) FROM STDIN (FORMAT BINARY)", CancellationToken.None))
        {
            foreach (var k in keys)
            {
                rows.StartRow(2);
                rows.Text(k);
                rows.Utf8(doc.RootElement.TryGetProperty(k, out var v) ? v : default);
                await rows.EndRowAsync(CancellationToken.None);
            }
            await rows.CompleteAsync(CancellationToken.None);
        }
        var stored = (await c.QueryAsync<(string K, string? V, string? Expected)>("""
            SELECT k, v, CASE WHEN jsonb_typeof(@Json::jsonb -> k) = 'string' THEN @Json::jsonb ->> k END FROM copy_strings
            """, new { Json = json })).ToList();
        Assert.Equal(keys.Length, stored.Count);
        foreach (var (k, v, expected) in stored) Assert.True(v == expected, $"{k}: stored {v ?? "NULL"}, PostgreSQL extracts {expected ?? "NULL"}");
        Assert.Equal("a\"b\\cé\n\t//", stored.Single(s => s.K == "escaped").V);
        Assert.Equal(["absent", "nul", "num", "obj"], stored.Where(s => s.V is null).Select(s => s.K).Order().ToArray());
        Assert.Equal("", stored.Single(s => s.K == "empty").V);
    }

    [Fact]
    public async Task A_COPY_interrupted_between_rows_writes_nothing_and_the_connection_goes_on()
    {
        await using var c = await fixture.OpenAsync();
        await c.ExecuteAsync(Table);
        await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await using var rows = await BinaryCopyRows.BeginAsync(c, "COPY copy_rows (n, t) FROM STDIN (FORMAT BINARY)", CancellationToken.None);
            rows.StartRow(2);
            rows.Text("1");
            rows.Text("half a row");
            await rows.EndRowAsync(CancellationToken.None);
            rows.StartRow(2);
            rows.Text("2");
            throw new InvalidOperationException("interrupted mid-row");
        });
        Assert.Equal(0, await c.ExecuteScalarAsync<long>("SELECT count(*) FROM copy_rows"));
    }
}
