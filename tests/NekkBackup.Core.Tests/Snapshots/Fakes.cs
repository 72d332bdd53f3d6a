using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Snapshots;

namespace NekkBackup.Core.Tests.Snapshots
{
    /// <summary>Records every command and answers from canned rules (first match wins; unmatched → exit 1).</summary>
    public sealed class FakeProcessRunner : IProcessRunner
    {
        private readonly List<(string Tool, Func<IReadOnlyList<string>, bool> Match, Func<IReadOnlyList<string>, ProcessOutput> Reply)> _rules = new();

        public List<string> Calls { get; } = new();
        public HashSet<string> MissingTools { get; } = new();

        public FakeProcessRunner On(string tool, Func<IReadOnlyList<string>, bool> match, string stdout, int exit = 0, string stderr = "")
        {
            _rules.Add((tool, match, _ => new ProcessOutput(exit, stdout, stderr)));
            return this;
        }

        public FakeProcessRunner On(string tool, string stdout, int exit = 0, string stderr = "") => On(tool, _ => true, stdout, exit, stderr);

        public FakeProcessRunner On(string tool, Func<IReadOnlyList<string>, bool> match, Func<IReadOnlyList<string>, ProcessOutput> reply)
        {
            _rules.Add((tool, match, reply));
            return this;
        }

        public bool HasTool(string tool) => !MissingTools.Contains(tool);

        public Task<ProcessOutput> RunAsync(string tool, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
        {
            if (MissingTools.Contains(tool)) throw new NekkBackupException("ToolNotFound", FailureKind.NotSupported, tool + " missing", tool);
            Calls.Add(tool + " " + string.Join(" ", arguments));
            foreach (var r in _rules)
                if (r.Tool == tool && r.Match(arguments)) return Task.FromResult(r.Reply(arguments));
            return Task.FromResult(new ProcessOutput(1, "", "fake: no rule for " + tool));
        }
    }

    /// <summary>A CIM layer in memory: shadows by id, scripted return codes, every call recorded.</summary>
    public sealed class FakeCim : ICimShadowCopyApi
    {
        public Dictionary<string, VssShadowInfo> Shadows { get; } = new(StringComparer.OrdinalIgnoreCase);
        public Queue<uint> ReturnCodes { get; } = new();
        public List<string> Calls { get; } = new();
        public int Disposed { get; private set; }
        public int Counter { get; set; } = 1;

        public Action? OnCreate { get; set; }

        public VssCreateResult Create(string volume, string context)
        {
            Calls.Add($"Create Volume={volume} Context={context}");
            OnCreate?.Invoke();
            uint rc = ReturnCodes.Count > 0 ? ReturnCodes.Dequeue() : 0;
            if (rc != 0) return new VssCreateResult(rc, null);
            var id = "{" + Guid.NewGuid().ToString().ToUpperInvariant() + "}";
            Shadows[id] = new VssShadowInfo(id, @"\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy" + Counter++, volume, DateTime.Now);
            return new VssCreateResult(0, id);
        }

        public VssShadowInfo? Get(string shadowId)
        {
            Calls.Add("Get " + shadowId);
            return Shadows.TryGetValue(shadowId, out var s) ? s : null;
        }

        public bool Delete(string shadowId)
        {
            Calls.Add("Delete " + shadowId);
            return Shadows.Remove(shadowId);
        }

        public void Dispose() => Disposed++;
    }

    public sealed class FakeVolumes : IWindowsVolumeApi
    {
        public string MountPoint { get; set; } = @"D:\";
        public string? Guid { get; set; } = @"\\?\Volume{0b1c2d3e-0000-0000-0000-100000000000}\";
        public string GetVolumePathName(string path) => MountPoint;
        public string? GetVolumeGuidPath(string mountPoint) => Guid;

        /// <summary>Shadow device root ("…ShadowCopyN\") → a real folder standing in for its content; links to it are made for real.</summary>
        public Dictionary<string, string> ShadowContent { get; } = new(StringComparer.OrdinalIgnoreCase);
        public List<string> Calls { get; } = new();

        public void CreateDirectoryLink(string link, string target)
        {
            Calls.Add($"Link {link} -> {target}");
            if (ShadowContent.TryGetValue(target, out var real)) System.IO.Directory.CreateSymbolicLink(link, real);
        }

        public void RemoveDirectoryLink(string link)
        {
            Calls.Add("Unlink " + link);
            if (new System.IO.FileInfo(link).LinkTarget != null) System.IO.File.Delete(link);
        }
    }

    /// <summary>Collects observer messages for assertions.</summary>
    public sealed class RecordingObserver : IRunObserver
    {
        public List<(RunMessageLevel Level, string Text)> Messages { get; } = new();
        public void Progress(RunProgress progress) { }
        public void Message(RunMessageLevel level, string text) { lock (Messages) Messages.Add((level, text)); }
        public void ItemFailed(string item, NekkBackupException error) { }
        public IEnumerable<string> Warnings { get { lock (Messages) return Messages.Where(m => m.Level == RunMessageLevel.Warning).Select(m => m.Text).ToList(); } }
    }
}
