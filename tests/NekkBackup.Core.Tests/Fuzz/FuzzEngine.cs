using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Tests.TestKit;

namespace NekkBackup.Core.Tests.Fuzz
{
    /// <summary>
    /// One trial's world. <see cref="Sandbox"/> is snapshotted before and after the call; only <see cref="Fixture"/>
    /// (the copy of the format's real fixture) and <see cref="Target"/> (a restore target) may change. The fixture sits
    /// eight folders deep so every '..' a mutation uses (at most six) still lands inside the sandbox, and every absolute
    /// path or link a mutation plants points into <see cref="Outside"/> — a write outside shows up in the diff.
    /// </summary>
    internal sealed class TrialContext
    {
        public TrialContext(string sandbox, int seed)
        {
            Seed = seed;
            Rng = new Random(seed);
            Sandbox = sandbox;
            Outside = Path.Combine(sandbox, "outside");
            var deep = Path.Combine(sandbox, "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8");
            Fixture = Path.Combine(deep, "fx");
            Target = Path.Combine(deep, "target");
            Mutate = new Mutator(this);
        }

        public int Seed { get; }
        public Random Rng { get; }
        public string Sandbox { get; }
        public string Outside { get; }
        public string Fixture { get; }
        public string Target { get; }
        public Mutator Mutate { get; }
        public List<string> Notes { get; } = new();
        /// <summary>A catalog's content was changed (a restore may then rightly restore less, or an older content).</summary>
        public bool CatalogMutated { get; set; }
        /// <summary>The entry point this trial called (for the report).</summary>
        public string Entry { get; set; } = "";
        /// <summary>Paths below the sandbox, besides Fixture and Target, that the call may write (e.g. a plan's data folder).</summary>
        public List<string> AlsoWritable { get; } = new();

        public T Pick<T>(params T[] items) => items[Rng.Next(items.Length)];
    }

    /// <summary>One format: its real fixture, how it is attacked, which public entry points read it, what a good answer is.</summary>
    internal abstract class FuzzTarget
    {
        public abstract string Name { get; }
        public virtual TimeSpan Deadline => TimeSpan.FromSeconds(30);

        /// <summary>Builds the fixture once per run into <paramref name="dir"/> by running the real engines on small generated trees.</summary>
        public abstract void Build(string dir);

        /// <summary>Copies the fixture into the trial (default: the whole fixture folder).</summary>
        public virtual void Prepare(string fixture, TrialContext t) => FsCopy.Tree(fixture, t.Fixture);

        public abstract void Attack(TrialContext t);

        /// <summary>Calls one public entry point chosen by the trial's RNG; returns its result.</summary>
        public abstract Task<object?> InvokeAsync(TrialContext t, CancellationToken ct);

        /// <summary>When the call succeeded: null when its answer is right, else what is wrong (a restore that differs…).</summary>
        public virtual string? Verify(TrialContext t, object? result) => null;

        public virtual void AfterTrial(TrialContext t) { }

        public virtual void Dispose() { }
    }

    internal sealed class FormatStats
    {
        public string Format = "";
        public int Trials;
        public int Escapes, Hangs, RawExceptions, WrongAnswers, HarnessErrors, Succeeded, NamedErrors;
        public double Seconds;
        public readonly Dictionary<string, int> Entries = new(StringComparer.Ordinal);
        public readonly Dictionary<string, int> ErrorIds = new(StringComparer.Ordinal);
        public readonly Stopwatch Prepare = new(), Call = new(), Check = new(), Cleanup = new();
        public int Failures => Escapes + Hangs + RawExceptions + WrongAnswers + HarnessErrors;
    }

    /// <summary>
    /// Runs trials per format: copy the fixture, attack it, snapshot the sandbox, call one entry point under a watchdog,
    /// compare the sandbox, check the answer. Counts escapes (a write outside the fixture copy and the target), hangs,
    /// raw exceptions (anything but NekkBackupException) and wrong answers; keeps one replayable description per
    /// distinct failure.
    /// </summary>
    internal sealed class FuzzRunner
    {
        private readonly string _root;
        private readonly int _seed;
        private readonly Action<string> _log;
        public readonly List<FormatStats> Stats = new();
        public readonly List<string> Failures = new();
        private readonly HashSet<string> _signatures = new(StringComparer.Ordinal);

        public FuzzRunner(string root, int seed, Action<string> log)
        {
            _root = root;
            _seed = seed;
            _log = log;
        }

        public static int TrialSeed(int seed, string format, int trial)
        {
            using var sha = SHA256.Create();
            var h = sha.ComputeHash(Encoding.UTF8.GetBytes($"{seed}|{format}|{trial}"));
            return BitConverter.ToInt32(h, 0) & 0x7FFFFFFF;
        }

        /// <summary>Runs <paramref name="trials"/> trials, or fewer when <paramref name="budget"/> is spent — but never fewer than <paramref name="minTrials"/>.</summary>
        public FormatStats Run(FuzzTarget target, int trials, TimeSpan budget, int firstTrial = 0, int minTrials = 10)
        {
            var st = new FormatStats { Format = target.Name };
            Stats.Add(st);
            var fixture = Path.Combine(_root, "fixtures", target.Name);
            var sw = Stopwatch.StartNew();
            target.Build(fixture);
            int hangsInARow = 0;
            for (int i = firstTrial; i < firstTrial + trials; i++)
            {
                if (i - firstTrial >= minTrials && sw.Elapsed > budget) break;
                var sandbox = Path.Combine(_root, "trials", target.Name);
                var t = new TrialContext(sandbox, TrialSeed(_seed, target.Name, i));
                string verdict;
                try { verdict = RunTrial(target, fixture, t, st); }
                finally
                {
                    st.Cleanup.Start();
                    try { target.AfterTrial(t); } catch (Exception e) { Record(st, target, t, i, "harness", "AfterTrial: " + e); }
                    HostileFs.ReleaseFifos(sandbox);
                    HostileFs.Forget(sandbox);
                    TryDelete(sandbox);
                    st.Cleanup.Stop();
                }
                st.Trials++;
                if (verdict.Length > 0) Record(st, target, t, i, verdict.Split(':')[0], verdict);
                hangsInARow = verdict.StartsWith("hang", StringComparison.Ordinal) ? hangsInARow + 1 : 0;
                if (hangsInARow >= 3) { _log($"{target.Name}: three hangs in a row, stopping this format"); break; }
            }
            st.Seconds = sw.Elapsed.TotalSeconds;
            _log($"{target.Name}: time in prepare {st.Prepare.Elapsed.TotalSeconds:0.0} s, calls {st.Call.Elapsed.TotalSeconds:0.0} s, checks {st.Check.Elapsed.TotalSeconds:0.0} s, cleanup {st.Cleanup.Elapsed.TotalSeconds:0.0} s");
            target.Dispose();
            _log($"{target.Name}: {st.Trials} trials in {st.Seconds:0} s — {st.Succeeded} answered, {st.NamedErrors} named errors; " +
                 $"{st.Escapes} escapes, {st.Hangs} hangs, {st.RawExceptions} raw exceptions, {st.WrongAnswers} wrong answers, {st.HarnessErrors} harness errors");
            return st;
        }

        private string RunTrial(FuzzTarget target, string fixture, TrialContext t, FormatStats st)
        {
            st.Prepare.Start();
            TryDelete(t.Sandbox);
            Directory.CreateDirectory(t.Outside);
            File.WriteAllText(Path.Combine(t.Outside, "bait.txt"), "bait");
            File.WriteAllText(Path.Combine(t.Outside, "pwn-drill.json"), "{\"keep\":true}");
            Directory.CreateDirectory(Path.Combine(t.Outside, "baitdir"));
            File.WriteAllText(Path.Combine(t.Outside, "baitdir", "x.txt"), "x");
            try
            {
                target.Prepare(fixture, t);
                target.Attack(t);
                if (t.Entry.Length == 0) throw new InvalidOperationException("the attack chose no entry point");
            }
            catch (Exception e)
            {
                st.Prepare.Stop();
                return "harness: preparing the trial failed: " + e.GetType().Name + ": " + e.Message;
            }
            var allowed = new[] { t.Fixture, t.Target }.Concat(t.AlsoWritable).ToArray();
            var before = TreeSnapshot.Take(t.Sandbox, allowed);
            st.Prepare.Stop();
            st.Call.Start();
            var o = Watchdog.Run(ct => target.InvokeAsync(t, ct), target.Deadline, t.Sandbox);
            st.Call.Stop();
            using var checking = new StopOnDispose(st.Check);
            var diff = before.Diff(TreeSnapshot.Take(t.Sandbox, allowed));
            st.Entries[t.Entry] = st.Entries.TryGetValue(t.Entry, out var n) ? n + 1 : 1;
            if (diff.Count > 0) { st.Escapes++; return "escape: " + string.Join("; ", diff.Take(5)); }
            if (o.Hung) { st.Hangs++; return "hang: no answer within " + target.Deadline.TotalSeconds + " s"; }
            if (o.Error != null)
            {
                var e = o.Error is AggregateException ag && ag.InnerExceptions.Count == 1 ? ag.InnerException! : o.Error;
                if (e is NekkBackupException nb)
                {
                    st.NamedErrors++;
                    st.ErrorIds[nb.ErrorId] = st.ErrorIds.TryGetValue(nb.ErrorId, out var c) ? c + 1 : 1;
                    return "";
                }
                st.RawExceptions++;
                return $"raw: {e.GetType().FullName}: {e.Message}\n{Top(e)}";
            }
            string? wrong;
            try { wrong = target.Verify(t, o.Value); }
            catch (Exception e) { wrong = "verifying failed: " + e.GetType().Name + ": " + e.Message; }
            if (wrong != null) { st.WrongAnswers++; return "wrong: " + wrong; }
            st.Succeeded++;
            return "";
        }

        private static string Top(Exception e)
        {
            var lines = (e.StackTrace ?? "").Split('\n').Where(l => l.Contains("NekkBackup.Core") && !l.Contains("Tests")).Take(4);
            return string.Join("\n", lines);
        }

        private void Record(FormatStats st, FuzzTarget target, TrialContext t, int trial, string kind, string verdict)
        {
            if (kind == "harness") st.HarnessErrors++;
            var firstLine = verdict.Split('\n')[0];
            var sig = target.Name + "|" + t.Entry + "|" + kind + "|" + (kind == "raw" ? verdict : firstLine.Length > 60 ? firstLine.Substring(0, 60) : firstLine);
            if (!_signatures.Add(sig) || Failures.Count >= 200) return;
            var text = $"[{target.Name} trial {trial} seed {_seed} (trial seed {t.Seed})] {t.Entry}: {verdict}\n  mutations: {string.Join(" | ", t.Notes)}";
            Failures.Add(text);
            _log("FAILURE " + text);
        }

        public static void TryDelete(string dir)
        {
            for (int i = 0; i < 3; i++)
            {
                try { if (Directory.Exists(dir) || File.Exists(dir)) Directory.Delete(dir, true); return; }
                catch (IOException) { Thread.Sleep(50); }
                catch (UnauthorizedAccessException) { Thread.Sleep(50); }
            }
        }

        public string Report(int seed, TimeSpan elapsed)
        {
            var sb = new StringBuilder();
            sb.AppendLine($"NekkBackup fuzz: seed {seed}, {Stats.Sum(s => s.Trials)} trials in {elapsed.TotalMinutes:0.0} min");
            sb.AppendLine($"{"format",-24} {"trials",7} {"secs",6} {"answered",8} {"named",6} {"escape",6} {"hang",5} {"raw",5} {"wrong",5} {"harness",7}");
            foreach (var s in Stats)
                sb.AppendLine($"{s.Format,-24} {s.Trials,7} {s.Seconds,6:0} {s.Succeeded,8} {s.NamedErrors,6} {s.Escapes,6} {s.Hangs,5} {s.RawExceptions,5} {s.WrongAnswers,5} {s.HarnessErrors,7}");
            sb.AppendLine($"total: {Stats.Sum(s => s.Escapes)} escapes, {Stats.Sum(s => s.Hangs)} hangs, {Stats.Sum(s => s.RawExceptions)} raw exceptions, " +
                          $"{Stats.Sum(s => s.WrongAnswers)} wrong answers, {Stats.Sum(s => s.HarnessErrors)} harness errors");
            foreach (var s in Stats)
                sb.AppendLine($"  {s.Format}: entries {string.Join(", ", s.Entries.OrderBy(k => k.Key).Select(k => k.Key + "=" + k.Value))}; " +
                              $"errors {string.Join(", ", s.ErrorIds.OrderByDescending(k => k.Value).Take(8).Select(k => k.Key.Replace("NekkBackup.", "") + "=" + k.Value))}");
            foreach (var f in Failures) sb.AppendLine(f);
            return sb.ToString();
        }
    }

    internal sealed class StopOnDispose : IDisposable
    {
        private readonly Stopwatch _sw;
        public StopOnDispose(Stopwatch sw) { _sw = sw; sw.Start(); }
        public void Dispose() => _sw.Stop();
    }

    /// <summary>Independent digests of generated trees (what a correct restore must reproduce).</summary>
    internal static class Digests
    {
        public static string Of(byte[] data) => Convert.ToHexString(SHA256.HashData(data)).ToLowerInvariant();

        public static string OfFile(string path)
        {
            using var s = File.OpenRead(path);
            return Convert.ToHexString(SHA256.HashData(s)).ToLowerInvariant();
        }

        /// <summary>Regular files under <paramref name="root"/> (links and special files not followed), relative '/' path → SHA-256.</summary>
        public static Dictionary<string, string> Tree(string root)
        {
            var d = new Dictionary<string, string>(StringComparer.Ordinal);
            if (!Directory.Exists(root)) return d;
            var stack = new Stack<string>();
            stack.Push(root);
            while (stack.Count > 0)
            {
                foreach (var p in Directory.EnumerateFileSystemEntries(stack.Pop()))
                {
                    var kind = NekkBackup.Core.Validation.NativeFs.KindOf(p);
                    if (kind == NekkBackup.Core.Validation.StoredKind.Directory) stack.Push(p);
                    else if (kind == NekkBackup.Core.Validation.StoredKind.File) d[Path.GetRelativePath(root, p).Replace('\\', '/')] = OfFile(p);
                }
            }
            return d;
        }

        /// <summary>
        /// Checks a restored tree: with an untouched catalog every restored file is exactly its reference (and a Succeeded
        /// restore is the whole reference); with a mutated catalog every restored file still holds a content that was
        /// backed up (never zeros, garbage or a half file), and nothing is left half-written.
        /// </summary>
        public static string? CheckRestore(string restoredRoot, IReadOnlyDictionary<string, string> reference, ISet<string> allContents, bool catalogMutated, bool succeeded)
        {
            var got = Tree(restoredRoot);
            foreach (var kv in got)
            {
                if (kv.Key.Contains("nekk-partial") || kv.Key.EndsWith(".nekkpart", StringComparison.Ordinal)) return $"a partial file is left: {kv.Key}";
                if (!catalogMutated)
                {
                    if (!reference.TryGetValue(kv.Key, out var want)) return $"restored '{kv.Key}', which the run does not hold";
                    if (want != kv.Value) return $"restored '{kv.Key}' differs from what was backed up";
                }
                else if (!allContents.Contains(kv.Value)) return $"restored '{kv.Key}' holds content that was never backed up";
            }
            if (!catalogMutated && succeeded)
            {
                var missing = reference.Keys.Where(k => !got.ContainsKey(k)).Take(3).ToList();
                if (missing.Count > 0) return "a Succeeded restore lacks " + string.Join(", ", missing);
            }
            return null;
        }
    }
}
