namespace Sentinel.GraphSimulator;

/// <summary>SplitMix64: small, fast, deterministic across runtimes (System.Random's algorithm is not a contract).</summary>
internal sealed class Rng(ulong seed)
{
    private ulong _s = seed;

    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public static ulong Hash(ulong a, ulong b) => Mix(a * 0x9E3779B97F4A7C15UL + b + 0x632BE59BD9B4E019UL);

    public ulong NextU64()
    {
        _s += 0x9E3779B97F4A7C15UL;
        return Mix(_s);
    }

    public int Next(int n) => n <= 1 ? 0 : (int)(NextU64() % (ulong)n);
    public int Next(int min, int max) => min + Next(max - min);
    public double NextDouble() => (NextU64() >> 11) * (1.0 / (1UL << 53));
    public bool Chance(double p) => NextDouble() < p;
    public T Pick<T>(IReadOnlyList<T> list) => list[Next(list.Count)];

    public Guid NextGuid()
    {
        Span<byte> b = stackalloc byte[16];
        BitConverter.TryWriteBytes(b, NextU64());
        BitConverter.TryWriteBytes(b[8..], NextU64());
        b[7] = (byte)((b[7] & 0x0F) | 0x40);
        b[8] = (byte)((b[8] & 0x3F) | 0x80);
        return new Guid(b);
    }
}
