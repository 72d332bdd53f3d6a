namespace NekkBackup.Core.Validation
{
    /// <summary>Content addresses: exactly 64 lower-case hex digits (every writer writes them so) before one is used as a name or key.</summary>
    public static class ContentHash
    {
        public static bool IsSha256Hex(string? s)
        {
            if (s == null || s.Length != 64) return false;
            foreach (var ch in s)
                if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) return false;
            return true;
        }
    }
}
