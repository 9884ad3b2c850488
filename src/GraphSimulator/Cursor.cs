namespace Sentinel.GraphSimulator;

internal enum CursorKind : byte { Users = 1, Groups = 2, Drive = 3, Sites = 4, Permissions = 5 }

/// <summary>
/// Everything a delta/paging link needs, packed into an opaque base64url token: the round's lower bound (Since,
/// 0 = full enumeration), the tenant sequence number when the round began (Upto → the next deltaLink's Since),
/// the position reached, and the $select of the first request.
/// </summary>
internal record struct Cursor(CursorKind Kind, int Scope, long Since, long Upto, int Pos, int Sub, byte Flags, string? Select)
{
    public const byte RoundStart = 1, EmptyPageDone = 2;
    public bool IsRoundStart => (Flags & RoundStart) != 0;

    /// <param name="issuedUnix">When the link was minted (token lifetime checks).</param>
    public string Encode(int tenantTag, long issuedUnix)
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms))
        {
            w.Write((byte)0x53);
            w.Write(tenantTag);
            w.Write((byte)Kind);
            w.Write(Scope);
            w.Write(Since);
            w.Write(Upto);
            w.Write(Pos);
            w.Write(Sub);
            w.Write(Flags);
            w.Write(Select ?? "");
            w.Write(issuedUnix);
        }
        return Jwt.B64(ms.ToArray());
    }

    /// <summary>Null when malformed; Stale=true when minted by a different tenant (seed/profile).</summary>
    public static (Cursor? Cursor, bool Stale, long IssuedUnix) Decode(string token, int tenantTag)
    {
        try
        {
            using var r = new BinaryReader(new MemoryStream(Jwt.FromB64(token)));
            if (r.ReadByte() != 0x53) return (null, false, 0);
            var tag = r.ReadInt32();
            var c = new Cursor((CursorKind)r.ReadByte(), r.ReadInt32(), r.ReadInt64(), r.ReadInt64(), r.ReadInt32(), r.ReadInt32(), r.ReadByte(), r.ReadString());
            if (c.Select == "") c = c with { Select = null };
            var issued = r.ReadInt64();
            return tag != tenantTag ? (null, true, issued) : (c, false, issued);
        }
        catch (Exception e) when (e is FormatException or EndOfStreamException or IOException or ArgumentException)
        {
            return (null, false, 0);
        }
    }
}
