using System;
using System.Diagnostics;
using System.IO;
using System.Threading;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Primitives;
using NekkBackup.Core.Storage;

namespace NekkBackup.Core.Imaging
{
    /// <summary>
    /// The restore phase: an image to a file (raw, or a fixed VHD) or a block device. The target is checked before
    /// anything is written; every chunk is verified on the way (<see cref="ImageStreamer"/>) and the volume digest compared;
    /// a file is written beside the target and renamed into place only when it is whole.
    /// </summary>
    internal static class ImageRestore
    {
        public static GhostRestoreResult Run(string repository, string imageId, string target, GhostRestoreFormat format, bool force,
            IRunObserver outer, CancellationToken ct, int parallelism)
        {
            if (string.IsNullOrWhiteSpace(target)) throw Fail.Argument("TargetMissing", "No restore target was given.");
            using var log = RunLog.Open(RunId.New(), "GhostRestore");
            var observer = log.Wrap(outer);
            var repo = ImageRepository.Open(repository, observer, log.Logger);
            // Validate the target before anything is written (the cmdlet ran the same check before it asked).
            var check = GhostRestoreCheck.Validate(repo, imageId, target, format, force);
            if (!check.IsDevice && File.Exists(target) && !force)
                throw new NekkBackupException("TargetExists", FailureKind.ResourceExists, $"The target file '{target}' exists; use -Force to overwrite it.", target);
            var m = check.Manifest;
            bool vhd = format == GhostRestoreFormat.Vhd;
            long volumeOffset = check.VolumeOffset;
            long needed = check.NeededBytes;
            var windowsDevice = check.WindowsDevice;
            bool isDevice = check.IsDevice;

            using var repoLock = repo.Lock(LockMode.Shared, "restore", observer, ct);
            using var index = ImageIndexReader.Open(repo, m);
            IBlockTarget sink;
            string? partial = null;
            if (windowsDevice != null) sink = WindowsVolume.Open(windowsDevice, write: true, index.ChunkSize);
            else if (isDevice) sink = new StreamTarget(new FileStream(target, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1), device: true);
            else
            {
                partial = target + ".nekk-partial";
                if (File.Exists(partial)) File.Delete(partial);
                var fs = new FileStream(partial, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1);
                fs.SetLength(needed); // reads as zeros: zero chunks need no write (and stay sparse)
                sink = new StreamTarget(fs, device: false);
            }
            if (sink.Capacity is long cap && cap < needed)
            {
                sink.Dispose();
                throw GhostRestoreCheck.TooSmall(target, cap, imageId, needed);
            }

            var clock = Stopwatch.StartNew();
            var meter = new GhostProgress(observer, $"Restoring {imageId}");
            log.Logger.Information("Restoring {ImageId} from {Repository} to {Target} as {Format}", imageId, repo.Root, target, format);
            try
            {
                using (sink)
                {
                    if (vhd) sink.Write(0, Vhd.MasterBootRecord(m.SizeBytes, Vhd.RandomDiskSignature()), 512);
                    string volumeSha = ImageStreamer.Stream(repo, index, GhostRepository.Workers(parallelism), ct, (it, buf) =>
                    {
                        if (it.Error != null)
                            throw new NekkBackupException("ChunkCorrupt", FailureKind.InvalidData,
                                $"Image '{imageId}' chunk {it.Index} ({it.Id}) is {it.Error.Problem.ToLowerInvariant()}: {it.Error.Message}. Run Test-NekkGhostImage.", imageId);
                        if (!it.Zero || sink.WritesZeros) sink.Write(volumeOffset + it.Index * index.ChunkSize, buf, it.Count);
                    }, (done, n) => meter.Report("Writing", done, m.SizeBytes, n, index.Count, target), volumeDigest: m.VolumeSha256.Length > 0);
                    if (m.VolumeSha256.Length > 0 && !string.Equals(volumeSha, m.VolumeSha256, StringComparison.OrdinalIgnoreCase))
                        throw new NekkBackupException("ChunkCorrupt", FailureKind.InvalidData, $"The restored volume of '{imageId}' does not match the digest recorded at capture.", imageId);
                    if (vhd)
                    {
                        long disk = Vhd.DiskSize(m.SizeBytes);
                        sink.Write(disk, Vhd.Footer(disk, DateTime.UtcNow, Vhd.RandomUniqueId()), 512);
                    }
                    sink.Complete();
                }
                if (partial != null) AtomicFile.MoveOverwrite(partial, target);
            }
            catch
            {
                if (partial != null) { try { File.Delete(partial); } catch (IOException) { } }
                meter.Completed("Stopped");
                throw;
            }
            meter.Completed("Done");
            log.Logger.Information("Restored {ImageId} to {Target} in {Ms} ms", imageId, target, clock.ElapsedMilliseconds);
            return new GhostRestoreResult
            {
                ImageId = imageId,
                Target = target,
                Format = format.ToString(),
                SizeBytes = needed,
                VolumeOffset = volumeOffset,
                VolumeSha256 = m.VolumeSha256,
                Duration = clock.Elapsed,
            };
        }

        /// <summary>A file or a Linux block device written at offsets.</summary>
        private sealed class StreamTarget : IBlockTarget
        {
            private readonly FileStream _fs;
            private readonly bool _device;

            public StreamTarget(FileStream fs, bool device)
            {
                _fs = fs;
                _device = device;
                Capacity = device ? LinuxBlockDevice.GetSize(fs.SafeFileHandle) : null;
            }

            public long? Capacity { get; }
            public bool WritesZeros => _device;

            public void Write(long offset, byte[] buffer, int count)
            {
                if (_fs.Position != offset) _fs.Position = offset;
                _fs.Write(buffer, 0, count);
            }

            public void Complete() => _fs.Flush(true);

            public void Dispose() => _fs.Dispose();
        }
    }
}
