using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text.Json;
using System.Threading;
using NekkBackup.Core.Cloud;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;

// Usage: NekkBackup.CloudHost send|archive --endpoint URL --bucket B --path SRC [--prefix P] [--host H]
//        [--journal DIR] [--mbps X] [--throttle N] [--part-mib N] [--archive-id ID] [--access-key K --secret-key S]
//        NekkBackup.CloudHost restore-archive --endpoint URL --bucket B --archive-id ID --target DIR [--mbps X] [--window-mib N]
//        NekkBackup.CloudHost prune --endpoint URL --bucket B --keep-last N   (Remove-NekkCloudBackup -Retention, real 24 h rule)
// Prints the result as JSON on stdout, then "VmHWM_KB=<n>" (peak resident set, Linux) on stderr.
var opts = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
for (int i = 1; i + 1 < args.Length; i += 2) opts[args[i].TrimStart('-')] = args[i + 1];
string Opt(string k, string d = "") => opts.TryGetValue(k, out var v) ? v : d;
if (args.Length == 0) { Console.Error.WriteLine("usage: send|archive --endpoint URL --bucket B --path SRC …"); return 3; }

var target = new CloudTarget
{
    Bucket = Opt("bucket"), Endpoint = Opt("endpoint", "") is var e && e.Length > 0 ? e : null, Prefix = Opt("prefix", "studio"),
    Host = Opt("host", "testhost"), AccessKey = Opt("access-key", "S3RVER"), SecretKey = Opt("secret-key", "S3RVER"),
};
using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, a) => { a.Cancel = true; cts.Cancel(); };
try
{
    object result;
    if (args[0] == "archive")
    {
        result = new CloudArchiveEngine(target).RunAsync(new CloudArchiveOptions
        {
            Path = Opt("path"), ThrottleLimit = int.Parse(Opt("throttle", "4"), CultureInfo.InvariantCulture),
            MaxMBps = double.Parse(Opt("mbps", "0"), CultureInfo.InvariantCulture), StorageClass = Opt("class", "STANDARD"),
            JournalDirectory = opts.TryGetValue("journal", out var aj) ? aj : null,
            PartSize = int.Parse(Opt("part-mib", "16"), CultureInfo.InvariantCulture) * 1024 * 1024,
            ArchiveId = opts.TryGetValue("archive-id", out var id) ? id : null,
        }, cts.Token).GetAwaiter().GetResult();
    }
    else if (args[0] == "restore-archive")
    {
        result = new ArchiveRestoreEngine(target).RestoreAsync(new ArchiveRestoreOptions
        {
            ArchiveId = Opt("archive-id"), Target = Opt("target"),
            MaxMBps = double.Parse(Opt("mbps", "0"), CultureInfo.InvariantCulture),
            WindowBytes = long.Parse(Opt("window-mib", "64"), CultureInfo.InvariantCulture) << 20,
        }, cts.Token).GetAwaiter().GetResult();
    }
    else if (args[0] == "prune")
    {
        result = new BucketPrune(target).RunAsync(new BucketPruneOptions
        {
            Retention = new NekkBackup.Core.Folder.RetentionPolicy { KeepLast = int.Parse(Opt("keep-last", "1"), CultureInfo.InvariantCulture) },
        }, cts.Token).GetAwaiter().GetResult();
    }
    else
    {
        result = new CloudBackupEngine(target).RunAsync(new CloudBackupOptions
        {
            Paths = new[] { Opt("path") }, JournalDirectory = opts.TryGetValue("journal", out var j) ? j : null,
            ThrottleLimit = int.Parse(Opt("throttle", "4"), CultureInfo.InvariantCulture),
            MaxMBps = double.Parse(Opt("mbps", "0"), CultureInfo.InvariantCulture),
            PartSize = int.Parse(Opt("part-mib", "8"), CultureInfo.InvariantCulture) * 1024 * 1024,
        }, cts.Token).GetAwaiter().GetResult();
    }
    Console.WriteLine(JsonSerializer.Serialize(result, result.GetType()));
    return 0;
}
catch (NekkBackupException ex)
{
    Console.Error.WriteLine(ex.ErrorId + ": " + ex.Message);
    return 1;
}
finally
{
    if (File.Exists("/proc/self/status"))
        foreach (var line in File.ReadAllLines("/proc/self/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                Console.Error.WriteLine("VmHWM_KB=" + line.Substring(6).Trim().Split(' ')[0]);
}
