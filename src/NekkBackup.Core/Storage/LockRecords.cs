using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Primitives;

namespace NekkBackup.Core.Storage
{
    /// <summary>
    /// The lock object format (JSON, formatVersion 1) and how a reader judges it. Property names extend the Ghost
    /// repository's lock files (host, pid, exclusive, operation, created, refreshed) so old and new NekkBackup
    /// versions on different hosts respect each other's locks while the legs move onto <see cref="TargetLock"/>.
    /// Everything read is untrusted: size-capped, validated, and a lock that cannot be read counts as a live
    /// exclusive lock until its object is older than a lease.
    /// </summary>
    internal static class LockRecords
    {
        public static readonly FormatVersion Version = new(1);
        private const int MaxBytes = 64 * 1024;
        private static readonly TimeSpan LegacyLease = TimeSpan.FromMinutes(30);

        internal sealed class Record
        {
            public int FormatVersion { get; set; }
            public string Id { get; set; } = "";
            public string Host { get; set; } = "";
            public int Pid { get; set; }
            public DateTime? ProcessStarted { get; set; }
            public bool Exclusive { get; set; }
            public string Operation { get; set; } = "";
            public DateTime Created { get; set; }
            public DateTime Refreshed { get; set; }
            public double LeaseSeconds { get; set; }
        }

        private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

        public static byte[] Serialize(Record r) => JsonSerializer.SerializeToUtf8Bytes(r, Json);

        public static (int pid, DateTime? started) CurrentProcess()
        {
            using var p = Process.GetCurrentProcess();
            DateTime? started = null;
            try { started = p.StartTime.ToUniversalTime(); } catch (Exception e) when (!(e is OutOfMemoryException)) { }
            return (p.Id, started);
        }

        /// <summary>All lock objects directly under <paramref name="prefix"/>, judged against this host's clock.</summary>
        public static async Task<List<LockHolder>> ScanAsync(IBackupTarget target, string prefix, TimeSpan ownLease, TimeSpan skew, CancellationToken ct)
        {
            var result = new List<LockHolder>();
            // Listed twice, kept once: a store that replaces a file by unlink-and-rename (ntfs-3g, some SMB servers) can
            // leave a holder's lock out of a listing taken while the holder refreshes it; the refresh is over by the next.
            var entries = new Dictionary<string, TargetEntry>(StringComparer.Ordinal);
            for (int pass = 0; pass < 2; pass++)
            {
                await foreach (var e in target.ListAsync(prefix, ct).ConfigureAwait(false))
                {
                    var name = e.Key.Substring(prefix.Length);
                    if (name.IndexOf('/') < 0 && name.EndsWith(".json", StringComparison.Ordinal) && !entries.ContainsKey(e.Key)) entries.Add(e.Key, e);
                }
            }
            foreach (var e in entries.Values.OrderBy(e => e.Key, StringComparer.Ordinal))
            {
                byte[]? bytes = await ReadCappedAsync(target, e.Key, ct).ConfigureAwait(false);
                if (bytes == null) continue; // removed meanwhile: its holder released it
                result.Add(Judge(e, bytes, ownLease, skew));
            }
            return result;
        }

        /// <summary>A lock object's bytes (null when it is gone). A read torn by its holder's refresh is read again.</summary>
        private static async Task<byte[]?> ReadCappedAsync(IBackupTarget target, string key, CancellationToken ct)
        {
            for (int attempt = 1; ; attempt++)
            {
                try
                {
                    using var s = await target.OpenReadAsync(key, 0, MaxBytes + 1, ct).ConfigureAwait(false);
                    using var ms = new MemoryStream();
                    await s.CopyToAsync(ms, 81920, ct).ConfigureAwait(false);
                    return ms.ToArray();
                }
                catch (TargetException ex) when (ex.ErrorKind == TargetErrorKind.NotFound)
                {
                    // Gone — or between the unlink and the rename of a refresh on a store that replaces that way: look again.
                    if (attempt >= 3) return null;
                    await Task.Delay(25 * attempt, ct).ConfigureAwait(false);
                }
                catch (TargetException ex) when (ex.IsTransient && attempt < 3)
                {
                    await Task.Delay(20 * attempt, ct).ConfigureAwait(false);
                }
            }
        }

        internal static LockHolder Judge(TargetEntry entry, byte[] bytes, TimeSpan ownLease, TimeSpan skew)
        {
            var name = entry.Key.Substring(entry.Key.LastIndexOf('/') + 1);
            var id = name.Substring(0, name.Length - ".json".Length);
            var now = DateTime.UtcNow;
            Record? r = null;
            string? problem = null;
            if (bytes.Length > MaxBytes) problem = "larger than a lock";
            else
            {
                try
                {
                    using var doc = JsonDocument.Parse(bytes);
                    bool versioned = doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty(FormatVersion.PropertyName, out _);
                    if (versioned) FormatVersion.Check(doc.RootElement, $"The lock object '{entry.Key}'", Version, entry.Key);
                    r = JsonSerializer.Deserialize<Record>(bytes, Json);
                    if (r != null && !versioned) { r.LeaseSeconds = LegacyLease.TotalSeconds; r.Id = id; } // a Ghost lock from before formatVersion
                    problem = r == null ? "empty" : Invalid(r, id);
                }
                catch (Exception ex) when (ex is JsonException || ex is Errors.NekkBackupException) { problem = ex.Message; }
            }
            if (problem != null || r == null)
            {
                var age = now - entry.LastModifiedUtc;
                return new LockHolder
                {
                    Key = entry.Key, Id = id, Exclusive = true, Unreadable = true, Operation = "(unreadable: " + problem + ")",
                    CreatedUtc = entry.LastModifiedUtc, RefreshedUtc = entry.LastModifiedUtc, Lease = ownLease,
                    StaleReason = age > ownLease + skew ? $"unreadable and untouched since {entry.LastModifiedUtc:u}" : null,
                };
            }
            var lease = TimeSpan.FromSeconds(r.LeaseSeconds);
            string? stale = null;
            if (now > r.Refreshed.ToUniversalTime() + lease + skew) stale = $"not refreshed since {r.Refreshed.ToUniversalTime():u}";
            else if (string.Equals(r.Host, OperatingSystemInfo.HostName, StringComparison.OrdinalIgnoreCase) && !IsAlive(r.Pid, r.ProcessStarted))
                stale = $"process {r.Pid} on this host has ended";
            return new LockHolder
            {
                Key = entry.Key, Id = r.Id, Host = r.Host, Pid = r.Pid, ProcessStartedUtc = r.ProcessStarted, Exclusive = r.Exclusive,
                Operation = r.Operation, CreatedUtc = r.Created.ToUniversalTime(), RefreshedUtc = r.Refreshed.ToUniversalTime(), Lease = lease,
                StaleReason = stale,
            };
        }

        private static string? Invalid(Record r, string idFromName)
        {
            if (!string.Equals(r.Id, idFromName, StringComparison.Ordinal)) return "its id does not match its name";
            if (string.IsNullOrWhiteSpace(r.Host) || r.Host.Length > 255) return "no valid host";
            if (r.Pid <= 0) return "no valid pid";
            if (r.Operation == null || r.Operation.Length > 200) return "no valid operation";
            if (double.IsNaN(r.LeaseSeconds) || r.LeaseSeconds <= 0 || r.LeaseSeconds > TimeSpan.FromDays(7).TotalSeconds) return "no valid lease";
            if (r.Refreshed == default || r.Created == default) return "no valid times";
            return null;
        }

        /// <summary>False when the process is gone, or its pid now belongs to a process started at another time.</summary>
        internal static bool IsAlive(int pid, DateTime? started)
        {
            try
            {
                using var p = Process.GetProcessById(pid);
                if (p.HasExited) return false;
                if (started is DateTime s)
                {
                    try { return Math.Abs((p.StartTime.ToUniversalTime() - s.ToUniversalTime()).TotalSeconds) < 2; }
                    catch (Exception e) when (!(e is OutOfMemoryException)) { return true; } // cannot tell: assume it is ours
                }
                return true;
            }
            catch (ArgumentException) { return false; }
            catch (InvalidOperationException) { return false; }
        }
    }
}
