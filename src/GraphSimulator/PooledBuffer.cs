using System.Buffers;

namespace Sentinel.GraphSimulator;

/// <summary>IBufferWriter over ArrayPool arrays: page bodies (~250 KB) would otherwise land on the large object heap each time.</summary>
internal sealed class PooledBuffer : IBufferWriter<byte>, IDisposable
{
    private byte[] _buf;
    private int _pos;

    public PooledBuffer(int initial = 16 * 1024) => _buf = ArrayPool<byte>.Shared.Rent(initial);

    public int WrittenCount => _pos;
    public ReadOnlyMemory<byte> WrittenMemory => _buf.AsMemory(0, _pos);
    public ReadOnlySpan<byte> WrittenSpan => _buf.AsSpan(0, _pos);
    public void Clear() => _pos = 0;
    public void Advance(int count) => _pos += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buf.AsMemory(_pos);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buf.AsSpan(_pos);
    }

    private void Ensure(int hint)
    {
        if (hint < 256) hint = 256;
        if (_buf.Length - _pos >= hint) return;
        var next = ArrayPool<byte>.Shared.Rent(Math.Max(_buf.Length * 2, _pos + hint));
        _buf.AsSpan(0, _pos).CopyTo(next);
        ArrayPool<byte>.Shared.Return(_buf);
        _buf = next;
    }

    public void Dispose()
    {
        var b = _buf;
        _buf = [];
        _pos = 0;
        if (b.Length > 0) ArrayPool<byte>.Shared.Return(b);
    }
}
