using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Storage;
using NekkBackup.Core.Validation;

namespace NekkBackup.Core.Imaging
{
    /// <summary>
    /// The image engine's few calls into its <see cref="IBackupTarget"/>: synchronous waits (the engine runs on its own
    /// threads and pipelines; a local target answers synchronously), bounded whole-object reads, and the mapping of
    /// target errors to the repository's documented ones (damage is the document's reason, a full store DestinationFull).
    /// </summary>
    internal static class TargetIo
    {
        public static T Wait<T>(Task<T> task) => task.GetAwaiter().GetResult();

        public static void Wait(Task task) => task.GetAwaiter().GetResult();

        /// <summary>What a target reports about an entry that is not a sound object of ours (a FIFO, a folder, a link there).</summary>
        public static bool IsDamage(TargetException e) => e.ErrorKind is TargetErrorKind.UnsafeEntry or TargetErrorKind.InvalidKey
            or TargetErrorKind.RangeNotSatisfiable or TargetErrorKind.ContentMismatch;

        /// <summary>
        /// A target error as the repository's own: damage is <paramref name="reason"/> naming <paramref name="where"/>, a full
        /// store DestinationFull (as before the storage seam); transient and access errors keep their Target* ids.
        /// </summary>
        public static NekkBackupException Map(TargetException e, string reason, string where)
        {
            if (IsDamage(e)) return Fail.InvalidData(reason, $"'{where}' in the image repository is damaged: {e.Message}", where, e);
            if (e.ErrorKind == TargetErrorKind.Full)
                return new NekkBackupException("DestinationFull", FailureKind.LimitsExceeded, $"The image repository is full while writing '{where}': {e.Message}", where, e);
            return e;
        }

        /// <summary>
        /// Reads a whole object of at most <paramref name="maxBytes"/> (null when there is none). Larger, or not a regular
        /// object, is the check's damage; an I/O error while reading is a named (transient) IoError.
        /// </summary>
        public static byte[]? ReadAll(IBackupTarget target, string key, long maxBytes, StoredCheck check, CancellationToken ct = default)
        {
            Stream s;
            try { s = Wait(target.OpenReadAsync(key, 0, maxBytes + 1, ct)); }
            catch (TargetException e) when (e.ErrorKind == TargetErrorKind.NotFound) { return null; }
            catch (TargetException e) when (IsDamage(e)) { throw check.Error("", "cannot be read: " + e.Message, e); }
            using (s)
            {
                using var ms = new MemoryStream();
                var buf = new byte[81920];
                try
                {
                    int n;
                    while ((n = s.Read(buf, 0, buf.Length)) > 0)
                    {
                        ms.Write(buf, 0, n);
                        if (ms.Length > maxBytes)
                            throw check.Error("", $"is more than the {maxBytes:N0} bytes such a file can be");
                    }
                }
                catch (IOException e) { throw Fail.FromIo(e, check.Source); }
                return ms.ToArray();
            }
        }

        /// <summary>Stores <paramref name="bytes"/> under <paramref name="key"/>.</summary>
        public static TargetEntry Put(IBackupTarget target, string key, byte[] bytes, PutOptions options, CancellationToken ct = default) =>
            Wait(target.PutAsync(key, new MemoryStream(bytes, 0, bytes.Length, false), options, ct));
    }
}
