using System;
using System.IO;
using System.IO.Compression;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Validation;

namespace NekkBackup.Core.Folder
{
    /// <summary>
    /// The "looks encrypted" half of the ransomware guard. A file's compressibility is measured by
    /// Deflate (fastest) on a sample: the whole file up to 64 KiB, else four 16 KiB slices (start,
    /// one third, two thirds, end). A replaced file is <em>suspicious</em> when its old content
    /// (still in the mirror) compressed to &lt; <see cref="CompressibleRatio"/> of its size and its
    /// new content does not compress below <see cref="IncompressibleRatio"/>.
    /// The run is refused when at least <see cref="MinSuspicious"/> files are suspicious AND they are
    /// at least <see cref="SuspiciousShare"/> of the replaced files whose old content was compressible.
    /// Encryption turns every compressible file it touches into noise (share ≈ 100 %); ordinary edits
    /// keep text as text and binaries mostly structured (measured on mutate-dataset.sh runs: share ≤ ~25 %).
    /// </summary>
    internal static class EntropyProbe
    {
        public const double CompressibleRatio = 0.90;
        public const double IncompressibleRatio = 0.97;
        public const int MinSuspicious = 3;
        public const double SuspiciousShare = 0.5;
        private const int MinSize = 1024;
        private const int Whole = 64 * 1024;
        private const int Slice = 16 * 1024;

        /// <summary>Compressed/original ratio of a sample of the file, or null when too small or unreadable.</summary>
        /// <summary>With <paramref name="store"/> the file is the destination's own: opened only as a regular file inside it.</summary>
        public static double? Ratio(string path, StoreRoot? store = null)
        {
            try
            {
                using var fs = store != null
                    ? store.OpenRead(path, Reasons.CorruptCatalog, "the stored copy")
                    : new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
                if (fs == null) return null;
                long len = fs.Length;
                if (len < MinSize) return null;
                byte[] sample;
                if (len <= Whole)
                {
                    sample = new byte[len];
                    ReadFully(fs, sample, 0, (int)len);
                }
                else
                {
                    sample = new byte[4 * Slice];
                    long[] offs = { 0, len / 3, 2 * len / 3, len - Slice };
                    for (int i = 0; i < 4; i++)
                    {
                        fs.Position = offs[i];
                        ReadFully(fs, sample, i * Slice, Slice);
                    }
                }
                using var ms = new MemoryStream();
                using (var d = new DeflateStream(ms, CompressionLevel.Fastest, true))
                    d.Write(sample, 0, sample.Length);
                return (double)ms.Length / sample.Length;
            }
            catch (IOException) { return null; }
            catch (UnauthorizedAccessException) { return null; }
            catch (NekkBackupException) { return null; }
        }

        private static void ReadFully(Stream s, byte[] buf, int off, int count)
        {
            while (count > 0)
            {
                int n = s.Read(buf, off, count);
                if (n <= 0) throw new EndOfStreamException();
                off += n;
                count -= n;
            }
        }
    }
}
