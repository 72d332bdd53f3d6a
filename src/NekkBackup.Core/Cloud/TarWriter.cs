using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using System.Threading.Tasks;

namespace NekkBackup.Core.Cloud
{
    /// <summary>
    /// Streaming POSIX tar (ustar headers; a pax 'x' header for long or non-ASCII names and sizes past 8 GiB)
    /// written straight into an object writer: no temporary file, memory bounded by the part buffers.
    /// </summary>
    internal sealed class TarWriter
    {
        private const int Block = 512;
        private static readonly DateTime Epoch = new(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        private readonly Func<byte[], int, int, Task> _write;
        private readonly byte[] _zeros = new byte[Block];

        public TarWriter(Func<byte[], int, int, Task> write) => _write = write;

        public long Position { get; private set; }

        private async Task WriteAsync(byte[] b, int o, int n)
        {
            await _write(b, o, n).ConfigureAwait(false);
            Position += n;
        }

        public async Task WriteEntryHeaderAsync(string name, long size, DateTime mtimeUtc, bool directory)
        {
            if (directory && !name.EndsWith("/", StringComparison.Ordinal)) name += "/";
            var pax = new List<(string, string)>();
            string? ustarName = null, ustarPrefix = "";
            bool ascii = IsAscii(name);
            if (ascii && Encoding.ASCII.GetByteCount(name) <= 100) ustarName = name;
            else if (ascii)
            {
                for (int split = name.IndexOf('/'); split > 0; split = name.IndexOf('/', split + 1))
                {
                    int rest = name.Length - split - 1;
                    if (split <= 155 && rest > 0 && rest <= 100)
                    {
                        ustarPrefix = name.Substring(0, split);
                        ustarName = name.Substring(split + 1);
                        break;
                    }
                }
            }
            if (ustarName == null)
            {
                pax.Add(("path", name));
                ustarName = "PaxHeader-name";
            }
            if (size >= 8L * 1024 * 1024 * 1024 - 1) pax.Add(("size", size.ToString(CultureInfo.InvariantCulture)));
            long mtime = (long)Math.Max(0, Math.Floor((mtimeUtc - Epoch).TotalSeconds));
            if (pax.Count > 0)
            {
                var body = PaxBody(pax);
                await WriteAsync(Header("PaxHeaders/" + Sanitize(ustarName), body.Length, mtime, 'x', ""), 0, Block).ConfigureAwait(false);
                await WriteAsync(body, 0, body.Length).ConfigureAwait(false);
                await PadAsync(body.Length).ConfigureAwait(false);
            }
            await WriteAsync(Header(ustarName, directory ? 0 : Math.Min(size, 8L * 1024 * 1024 * 1024 - 1), mtime, directory ? '5' : '0', ustarPrefix), 0, Block).ConfigureAwait(false);
        }

        public Task WriteDataAsync(byte[] b, int o, int n) => WriteAsync(b, o, n);

        /// <summary>Counts <paramref name="n"/> data bytes without writing them (a sizing pass over a no-op sink).</summary>
        public void Advance(long n) => Position += n;

        public Task PadAsync(long size)
        {
            int rem = (int)(size % Block);
            return rem == 0 ? Task.CompletedTask : WriteAsync(_zeros, 0, Block - rem);
        }

        public async Task FinishAsync()
        {
            await WriteAsync(_zeros, 0, Block).ConfigureAwait(false);
            await WriteAsync(_zeros, 0, Block).ConfigureAwait(false);
        }

        private static string Sanitize(string s) => s.Length > 80 ? s.Substring(0, 80) : s;

        private static bool IsAscii(string s)
        {
            foreach (var c in s) if (c > 126 || c < 32) return false;
            return true;
        }

        internal static byte[] PaxBody(List<(string Key, string Value)> records)
        {
            var sb = new MemoryStream();
            foreach (var (k, v) in records)
            {
                var payload = " " + k + "=" + v + "\n";
                int plen = Encoding.UTF8.GetByteCount(payload);
                int len = plen + 1;
                while (len.ToString(CultureInfo.InvariantCulture).Length + plen != len) len++;
                var bytes = Encoding.UTF8.GetBytes(len.ToString(CultureInfo.InvariantCulture) + payload);
                sb.Write(bytes, 0, bytes.Length);
            }
            return sb.ToArray();
        }

        private static byte[] Header(string name, long size, long mtime, char type, string prefix)
        {
            var h = new byte[Block];
            Put(h, 0, 100, name);
            Octal(h, 100, 8, type == '5' ? 0x1ED : 0x1A4); // 0755 / 0644
            Octal(h, 108, 8, 0);
            Octal(h, 116, 8, 0);
            Octal(h, 124, 12, size);
            Octal(h, 136, 12, mtime);
            for (int i = 148; i < 156; i++) h[i] = (byte)' ';
            h[156] = (byte)type;
            Put(h, 257, 6, "ustar");
            h[263] = (byte)'0';
            h[264] = (byte)'0';
            Put(h, 345, 155, prefix);
            long sum = 0;
            foreach (var b in h) sum += b;
            var chk = Convert.ToString(sum, 8).PadLeft(6, '0');
            Put(h, 148, 6, chk);
            h[154] = 0;
            h[155] = (byte)' ';
            return h;
        }

        private static void Put(byte[] h, int off, int len, string s)
        {
            var b = Encoding.ASCII.GetBytes(s);
            Buffer.BlockCopy(b, 0, h, off, Math.Min(len, b.Length));
        }

        private static void Octal(byte[] h, int off, int len, long v)
        {
            var s = Convert.ToString(v, 8).PadLeft(len - 1, '0');
            Put(h, off, len - 1, s);
            h[off + len - 1] = 0;
        }
    }
}
