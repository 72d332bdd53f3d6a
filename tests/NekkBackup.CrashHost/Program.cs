using System;
using System.Collections.Generic;
using System.Text.Json;
using System.Threading;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Folder;
using NekkBackup.Core.Observability;

// Usage: NekkBackup.CrashHost <destination> <source> [<source>…] [--force] [--throttle N] [--start-at <file>]
// Prints one JSON line: the run (or the error), and one "ITEM <errorId> <path>" line per failed item.
// --start-at waits until <file> exists before the run starts (two hosts racing for one destination).
var sources = new List<string>();
string? dest = null;
bool force = false;
int throttle = Environment.ProcessorCount * 2;
string? startAt = null;
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == "--force") force = true;
    else if (args[i] == "--throttle") throttle = int.Parse(args[++i]);
    else if (args[i] == "--start-at") startAt = args[++i];
    else if (dest == null) dest = args[i];
    else sources.Add(args[i]);
}
if (dest == null || sources.Count == 0)
{
    Console.Error.WriteLine("usage: NekkBackup.CrashHost <destination> <source>... [--force] [--throttle N]");
    return 3;
}
Console.Out.WriteLine("PID " + Environment.ProcessId);
Console.Out.Flush();
while (startAt != null && !System.IO.File.Exists(startAt)) Thread.Sleep(2);
try
{
    var run = await FolderBackupEngine.BackupAsync(new FolderBackupOptions
    {
        Sources = sources,
        Destination = dest,
        Force = force,
        ThrottleLimit = throttle,
    }, new ConsoleObserver(), CancellationToken.None);
    Console.Out.WriteLine("RUN " + JsonSerializer.Serialize(run));
    return 0;
}
catch (NekkBackupException ex)
{
    Console.Out.WriteLine("ERROR " + ex.ErrorId + " " + ex.Message);
    return 1;
}

sealed class ConsoleObserver : IRunObserver
{
    public void Progress(RunProgress progress) { }
    public void Message(RunMessageLevel level, string text) { }
    public void ItemFailed(string item, NekkBackupException error)
    {
        lock (this) Console.Out.WriteLine("ITEM " + error.ErrorId + " " + item);
    }
}
