using System;
using System.Threading;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Snapshots;

// Usage: NekkBackup.SnapshotHost <path> <holdSeconds> <readyFile>
// Opens <path> through SnapshotSources.ForMode(Required) (state file under $NEKKBACKUP_DATA), writes
// "READY <snapshotId> <readPath>" (or "ERROR <id> <message>") to <readyFile> (temp + rename), then holds
// the snapshot until killed (or holdSeconds pass).
internal static class Program
{
    private static int Main(string[] args)
    {
        if (args.Length < 3)
        {
            Console.Error.WriteLine("usage: NekkBackup.SnapshotHost <path> <holdSeconds> <readyFile>");
            return 2;
        }
        int hold = int.Parse(args[1]);
        void Report(string text)
        {
            System.IO.File.WriteAllText(args[2] + ".tmp", text);
            System.IO.File.Move(args[2] + ".tmp", args[2], true);
        }
        try
        {
            var resolver = SnapshotSources.ForMode(SnapshotMode.Required, NullRunObserver.Instance);
            using var view = resolver.OpenAsync(args[0], CancellationToken.None).GetAwaiter().GetResult();
            Report($"READY {view.SnapshotId} {view.ReadPath}");
            Thread.Sleep(TimeSpan.FromSeconds(hold));
            return 0;
        }
        catch (NekkBackupException ex)
        {
            Report($"ERROR {ex.ErrorId} {ex.Message}");
            return 1;
        }
    }
}
