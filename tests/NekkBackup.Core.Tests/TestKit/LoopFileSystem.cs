using System;
using System.IO;

namespace NekkBackup.Core.Tests.TestKit
{
    /// <summary>
    /// A filesystem image file formatted and loop-mounted for a test (root only), unmounted and
    /// deleted at dispose. Kinds: ext4, btrfs, ntfs (ntfs-3g FUSE; extra mount options allowed).
    /// </summary>
    public sealed class LoopFileSystem : IDisposable
    {
        private readonly TempDir _dir;

        public LoopFileSystem(string kind, int sizeMb, string? mountOptions = null)
        {
            Kind = kind;
            _dir = new TempDir("loopfs");
            ImagePath = System.IO.Path.Combine(_dir.Path, kind + ".img");
            MountPoint = _dir.Sub("mnt");
            using (var f = new FileStream(ImagePath, FileMode.CreateNew)) f.SetLength((long)sizeMb << 20);
            switch (kind)
            {
                case "ext4":
                    ProcessHelper.Check("mkfs.ext4", $"-q -F \"{ImagePath}\"");
                    ProcessHelper.Check("mount", $"-o loop{(mountOptions != null ? "," + mountOptions : "")} \"{ImagePath}\" \"{MountPoint}\"");
                    break;
                case "btrfs":
                    ProcessHelper.Check("mkfs.btrfs", $"-q -f \"{ImagePath}\"");
                    ProcessHelper.Check("mount", $"-o loop{(mountOptions != null ? "," + mountOptions : "")} \"{ImagePath}\" \"{MountPoint}\"");
                    break;
                case "ntfs":
                    ProcessHelper.Check("mkntfs", $"-q -F -f \"{ImagePath}\"");
                    ProcessHelper.Check("ntfs-3g", $"{(mountOptions != null ? "-o " + mountOptions + " " : "")}\"{ImagePath}\" \"{MountPoint}\"");
                    break;
                default:
                    throw new ArgumentException("unknown filesystem kind " + kind);
            }
        }

        public string Kind { get; }
        public string ImagePath { get; }
        public string MountPoint { get; }

        public void Unmount()
        {
            for (int i = 0; i < 20; i++)
            {
                var r = ProcessHelper.Run("umount", $"\"{MountPoint}\"");
                if (r.ExitCode == 0 || r.StdErr.Contains("not mounted")) return;
                System.Threading.Thread.Sleep(250);
            }
            ProcessHelper.Run("umount", $"-l \"{MountPoint}\"");
        }

        public void Dispose()
        {
            Unmount();
            _dir.Dispose();
        }
    }
}
