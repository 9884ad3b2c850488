using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Npgsql;

namespace Sentinel.Features.Ingestion;

/// <summary>
/// Rows in PostgreSQL's binary COPY format written straight to a raw COPY stream (Npgsql's BeginRawBinaryCopy): text
/// as UTF-8, booleans, bigint, timestamptz, and jsonb from the UTF-8 JSON as received. The first full load writes a
/// million rows of 22 columns; Npgsql's typed importer resolves a converter and runs an async writer per value, ≈ a
/// fifth of the worker's CPU in that phase. Format: https://www.postgresql.org/docs/current/sql-copy.html (Binary Format).
/// </summary>
internal sealed class BinaryCopyRows : IAsyncDisposable
{
    /// <summary>"PGCOPY\n\377\r\n\0"</summary>
    private static ReadOnlySpan<byte> Signature => [(byte)'P', (byte)'G', (byte)'C', (byte)'O', (byte)'P', (byte)'Y', (byte)'\n', 0xFF, (byte)'\r', (byte)'\n', 0];

    /// <summary>Microseconds of PostgreSQL's epoch (2000-01-01 UTC) in .NET ticks.</summary>
    private const long PostgresEpochTicks = 630_822_816_000_000_000;

    private const int FlushAt = 64 * 1024;

    private readonly NpgsqlRawCopyStream _stream;
    private byte[] _buf = ArrayPool<byte>.Shared.Rent(FlushAt + 16 * 1024);
    private int _pos;
    private bool _completed;

    private BinaryCopyRows(NpgsqlRawCopyStream stream) => _stream = stream;

    /// <param name="copySql">COPY … FROM STDIN (FORMAT BINARY)</param>
    public static async Task<BinaryCopyRows> BeginAsync(NpgsqlConnection c, string copySql, CancellationToken ct)
    {
        var rows = new BinaryCopyRows(await c.BeginRawBinaryCopyAsync(copySql, ct));
        Signature.CopyTo(rows.Reserve(Signature.Length + 8));
        rows._pos += Signature.Length;
        rows.Int32(0); // flags
        rows.Int32(0); // header extension length
        return rows;
    }

    public void StartRow(short columns)
    {
        BinaryPrimitives.WriteInt16BigEndian(Reserve(2), columns);
        _pos += 2;
    }

    public void Null() => Int32(-1);

    public void Text(string? value)
    {
        if (value is null) { Null(); return; }
        var span = Reserve(4 + Encoding.UTF8.GetMaxByteCount(value.Length));
        var n = Encoding.UTF8.GetBytes(value, span[4..]);
        BinaryPrimitives.WriteInt32BigEndian(span, n);
        _pos += 4 + n;
    }

    /// <summary>
    /// A JSON string as text (anything else: NULL): its UTF-8 bytes as received when it has no escape sequence (PostgreSQL
    /// checks their encoding, as it does the row's raw JSON that holds the same bytes), else its unescaped value.
    /// </summary>
    public void Utf8(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.String) { Null(); return; }
        var s = JsonMarshal.GetRawUtf8Value(value)[1..^1]; // without its quotes
        if (s.IndexOf((byte)'\\') >= 0) { Text(value.GetString()); return; }
        var span = Reserve(4 + s.Length);
        BinaryPrimitives.WriteInt32BigEndian(span, s.Length);
        s.CopyTo(span[4..]);
        _pos += 4 + s.Length;
    }

    public void Bool(bool value)
    {
        var span = Reserve(5);
        BinaryPrimitives.WriteInt32BigEndian(span, 1);
        span[4] = value ? (byte)1 : (byte)0;
        _pos += 5;
    }

    public void Int64(long? value)
    {
        if (value is not { } v) { Null(); return; }
        var span = Reserve(12);
        BinaryPrimitives.WriteInt32BigEndian(span, 8);
        BinaryPrimitives.WriteInt64BigEndian(span[4..], v);
        _pos += 12;
    }

    /// <summary>A UTC instant as timestamptz: whole microseconds since 2000-01-01 (the callers pass whole microseconds).</summary>
    public void Timestamp(DateTime? value)
    {
        if (value is not { } v) { Null(); return; }
        Int64((v.Ticks - PostgresEpochTicks) / 10);
    }

    /// <summary>jsonb: format version 1, then the JSON text.</summary>
    public void Jsonb(ReadOnlySpan<byte> utf8Json)
    {
        var span = Reserve(5 + utf8Json.Length);
        BinaryPrimitives.WriteInt32BigEndian(span, utf8Json.Length + 1);
        span[4] = 1;
        utf8Json.CopyTo(span[5..]);
        _pos += 5 + utf8Json.Length;
    }

    /// <summary>Sends what is buffered once a row ends past the flush size.</summary>
    public async ValueTask EndRowAsync(CancellationToken ct)
    {
        if (_pos < FlushAt) return;
        await _stream.WriteAsync(_buf.AsMemory(0, _pos), ct);
        _pos = 0;
    }

    /// <summary>The trailer, the rest of the buffer, and the end of the COPY (where PostgreSQL reports a failed row).</summary>
    public async Task CompleteAsync(CancellationToken ct)
    {
        BinaryPrimitives.WriteInt16BigEndian(Reserve(2), -1);
        _pos += 2;
        await _stream.WriteAsync(_buf.AsMemory(0, _pos), ct);
        _pos = 0;
        _completed = true;
        await _stream.DisposeAsync();
    }

    private void Int32(int value)
    {
        BinaryPrimitives.WriteInt32BigEndian(Reserve(4), value);
        _pos += 4;
    }

    private Span<byte> Reserve(int bytes)
    {
        if (_buf.Length - _pos < bytes)
        {
            var next = ArrayPool<byte>.Shared.Rent(Math.Max(_buf.Length * 2, _pos + bytes));
            _buf.AsSpan(0, _pos).CopyTo(next);
            ArrayPool<byte>.Shared.Return(_buf);
            _buf = next;
        }
        return _buf.AsSpan(_pos);
    }

    /// <summary>A COPY not completed (an exception while rows were written) is cancelled, not ended with a partial row.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_completed)
        {
            try { await _stream.CancelAsync(); }
            catch (Exception e) when (e is NpgsqlException or IOException or OperationCanceledException or InvalidOperationException)
            {
                // the exception that interrupted the rows is the one to report; the transaction is rolled back either way
            }
        }
        await _stream.DisposeAsync();
        if (_buf.Length > 0) ArrayPool<byte>.Shared.Return(_buf);
        _buf = [];
    }
}
