using System;
using System.Diagnostics;
using System.Linq;
using System.Text.Json;
using System.Threading;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Imaging;

// ghosthost capture <source> <repo> [--slow-ms N] [--compression Zstd|None] [--level N]
// ghosthost restore <repo> <imageId> <target> [--vhd] [--force]
// ghosthost test <repo> [--full] [imageId]
// ghosthost list <repo>
// ghosthost remove <repo> <imageId>...
// ghosthost mount <repo> <imageId> <mountPoint> [--die-on TEXT]   (kills itself when a progress message contains TEXT)
// Prints one JSON object on stdout (plus "engineSeconds": time inside the engine, start-up excluded).
internal static class Program
{
    private static int Main(string[] args)
    {
        if (args.Length < 2) { Console.Error.WriteLine("usage: ghosthost capture|restore|test|list|remove ..."); return 3; }
        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
        string? Opt(string name) { int i = Array.IndexOf(args, name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : null; }
        bool Flag(string name) => args.Contains(name);
        var pos = args.Where((a, i) => !a.StartsWith("--") && (i == 0 || !args[i - 1].StartsWith("--") || args[i - 1] is "--vhd" or "--force" or "--full" or "--volume-sha")).ToArray();
        var sw = Stopwatch.StartNew();
        try
        {
            object result;
            switch (args[0])
            {
                case "capture":
                    var options = new GhostCaptureOptions
                    {
                        Source = pos[1],
                        Repository = pos[2],
                        Compression = Opt("--compression") is "None" or "none" ? GhostCompression.None : GhostCompression.Zstd,
                        ZstdLevel = int.TryParse(Opt("--level"), out var lv) ? lv : 0,
                        Parallelism = int.TryParse(Opt("--workers"), out var w) ? w : 0,
                        ChunkSize = int.TryParse(Opt("--chunk-kib"), out var ck) ? ck * 1024 : 0,
                        VolumeDigest = Flag("--volume-sha"),
                    };
                    if (int.TryParse(Opt("--slow-ms"), out var slow))
                    {
                        using var src = new SlowSource(BlockSources.Open(pos[1]), slow);
                        result = GhostRepository.CaptureAsync(src, pos[1], options, null, cts.Token).GetAwaiter().GetResult();
                    }
                    else result = GhostRepository.CaptureAsync(options, null, cts.Token).GetAwaiter().GetResult();
                    break;
                case "restore":
                    result = GhostRepository.RestoreAsync(pos[1], pos[2], pos[3], Flag("--vhd") ? GhostRestoreFormat.Vhd : GhostRestoreFormat.Raw, Flag("--force"), null, cts.Token)
                        .GetAwaiter().GetResult();
                    break;
                case "test":
                    result = GhostRepository.TestAsync(pos[1], pos.Length > 2 ? new[] { pos[2] } : null, Flag("--full"), null, cts.Token).GetAwaiter().GetResult();
                    break;
                case "list":
                    result = GhostRepository.List(pos[1]);
                    break;
                case "mount":
                    var dieOn = Opt("--die-on");
                    result = GhostMountManager.CreateDefault(new DieOnMessage(dieOn)).MountAsync(pos[1], pos[2], pos[3], cts.Token).GetAwaiter().GetResult();
                    break;
                case "remove":
                    result = GhostRepository.RemoveAsync(pos[1], pos.Skip(2).ToArray(), null, cts.Token).GetAwaiter().GetResult();
                    break;
                default:
                    Console.Error.WriteLine("unknown command " + args[0]);
                    return 3;
            }
            Console.WriteLine(JsonSerializer.Serialize(new { engineSeconds = sw.Elapsed.TotalSeconds, result }, new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        }
        catch (NekkBackupException e)
        {
            Console.Error.WriteLine($"{e.ErrorId}: {e.Message}");
            return 1;
        }
    }

    /// <summary>A crash at an exact step: the process kills itself (SIGKILL) when a message names the step.</summary>
    private sealed class DieOnMessage : NekkBackup.Core.Observability.IRunObserver
    {
        private readonly string? _text;
        public DieOnMessage(string? text) => _text = text;
        public void Progress(NekkBackup.Core.Observability.RunProgress progress) { }
        public void ItemFailed(string item, NekkBackupException error) { }
        public void Message(NekkBackup.Core.Observability.RunMessageLevel level, string text)
        {
            Console.Error.WriteLine(text);
            if (_text != null && text.Contains(_text, StringComparison.Ordinal)) Process.GetCurrentProcess().Kill();
        }
    }

    /// <summary>Slows reads down so a test can kill the process in the middle of a capture: the delay is per MiB read (a capture reads runs of chunks at once).</summary>
    private sealed class SlowSource : IBlockSource
    {
        private readonly IBlockSource _inner;
        private readonly int _ms;
        public SlowSource(IBlockSource inner, int ms) { _inner = inner; _ms = ms; }
        public string Path => _inner.Path;
        public long Length => _inner.Length;
        public int Read(long offset, byte[] buffer, int count) { Thread.Sleep(_ms * Math.Max(1, count >> 20)); return _inner.Read(offset, buffer, count); }
        public void Dispose() => _inner.Dispose();
    }
}
