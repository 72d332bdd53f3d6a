using System;
using System.Diagnostics;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Cloud;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Storage;

// Usage:
//   NekkBackup.LockHost race <target> <iterations> <holdMs> <markerFile>
//       takes the exclusive lock <iterations> times; inside it creates <markerFile> exclusively (a second
//       holder at the same time prints VIOLATION), holds <holdMs>, removes it, checks the lock, releases.
//   NekkBackup.LockHost hold <target> <leaseMs> <refreshMs> <skewMs> <workMs>
//       takes the exclusive lock, prints HELD, "works" for <workMs> watching the lost token, then checks the
//       lock and prints COMMIT (exit 0) — or LOST <reason> (exit 3) when the lock was lost first.
// <target>: local:<folder> or s3:<endpoint>|<bucket>|<rootPrefix> (s3rver credentials).
Console.Out.WriteLine("PID " + Environment.ProcessId);
Console.Out.Flush();
if (args.Length < 2) { Console.Error.WriteLine("usage: see Program.cs"); return 2; }
IBackupTarget target = await OpenAsync(args[1]);
try
{
    switch (args[0])
    {
        case "race": return await RaceAsync(target, int.Parse(args[2]), int.Parse(args[3]), args[4]);
        case "hold": return await HoldAsync(target, int.Parse(args[2]), int.Parse(args[3]), int.Parse(args[4]), int.Parse(args[5]));
        default: Console.Error.WriteLine("unknown mode " + args[0]); return 2;
    }
}
catch (NekkBackupException ex)
{
    Console.Out.WriteLine("ERROR " + ex.ErrorId + " " + ex.Message);
    return 1;
}

static async Task<IBackupTarget> OpenAsync(string spec)
{
    if (spec.StartsWith("local:", StringComparison.Ordinal))
        return LocalDirectoryTarget.Open(spec.Substring(6));
    var parts = spec.Substring(3).Split('|');
    var conn = new CloudTarget { Endpoint = parts[0], Bucket = parts[1], AccessKey = "S3RVER", SecretKey = "S3RVER", RequestTimeout = TimeSpan.FromSeconds(30) };
    return await S3Target.OpenAsync(conn, new S3TargetOptions { RootPrefix = parts[2], ConditionalCreate = false, ObjectLock = false }, CancellationToken.None);
}

static async Task<int> RaceAsync(IBackupTarget target, int iterations, int holdMs, string marker)
{
    var options = new LockOptions { Lease = TimeSpan.FromSeconds(20), RefreshInterval = TimeSpan.FromSeconds(2), ClockSkew = TimeSpan.FromSeconds(2), WaitTimeout = TimeSpan.FromSeconds(120) };
    int violations = 0;
    for (int i = 0; i < iterations; i++)
    {
        await using var held = await TargetLock.AcquireAsync(target, LockMode.Exclusive, "race", options, null, CancellationToken.None);
        try
        {
            using (new FileStream(marker, FileMode.CreateNew, FileAccess.Write)) { }
        }
        catch (IOException)
        {
            violations++;
            Console.Out.WriteLine("VIOLATION " + i);
            continue;
        }
        await Task.Delay(holdMs);
        File.Delete(marker);
        await held.EnsureHeldAsync(CancellationToken.None);
        Console.Out.WriteLine("ACQUIRED " + i);
    }
    Console.Out.WriteLine("DONE " + iterations + " " + violations);
    return violations == 0 ? 0 : 4;
}

static async Task<int> HoldAsync(IBackupTarget target, int leaseMs, int refreshMs, int skewMs, int workMs)
{
    var options = new LockOptions { Lease = TimeSpan.FromMilliseconds(leaseMs), RefreshInterval = TimeSpan.FromMilliseconds(refreshMs), ClockSkew = TimeSpan.FromMilliseconds(skewMs) };
    await using var held = await TargetLock.AcquireAsync(target, LockMode.Exclusive, "hold", options, null, CancellationToken.None);
    Console.Out.WriteLine("HELD " + held.Key);
    Console.Out.Flush();
    var work = Stopwatch.StartNew();
    try
    {
        while (work.ElapsedMilliseconds < workMs)
            await Task.Delay(50, held.LostToken);
        await held.EnsureHeldAsync(held.LostToken);
    }
    catch (OperationCanceledException) when (held.IsLost)
    {
        Console.Out.WriteLine("LOST " + held.LostReason);
        return 3;
    }
    catch (NekkBackupException ex) when (ex.ErrorId == "NekkBackup.LockLost")
    {
        Console.Out.WriteLine("LOST " + held.LostReason);
        return 3;
    }
    Console.Out.WriteLine("COMMIT");
    return 0;
}
