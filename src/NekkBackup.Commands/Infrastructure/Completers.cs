using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Threading;
using NekkBackup.Commands.Cloud;
using NekkBackup.Core.Cloud;
using NekkBackup.Core.Folder;
using NekkBackup.Core.Imaging;
using NekkBackup.Core.Plans;
using NekkBackup.Core.Snapshots;

namespace NekkBackup.Commands.Infrastructure
{
    /// <summary>
    /// Tab completion for ids and names (issue 13): each completer reads the place the command line already names
    /// (-Destination, -Repository, -Bucket with its endpoint and credentials, through $fakeBoundParameters), offers
    /// the ids that start with what was typed (newest first, with a tooltip), and is quiet: any problem — nothing
    /// bound yet, a missing folder, a bucket that does not answer within <see cref="Budget"/> — means no suggestions,
    /// never an error or a prompt. Plain IArgumentCompleter classes, so they work in PowerShell 7 and 5.1 alike.
    /// </summary>
    public abstract class NekkCompleter : IArgumentCompleter
    {
        /// <summary>How long a completer may wait for a bucket before it gives up (tab must stay fast).</summary>
        public static readonly TimeSpan Budget = TimeSpan.FromSeconds(4);

        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            var word = (wordToComplete ?? "").Trim('\'', '"');
            try
            {
                return Candidates(fakeBoundParameters ?? new Hashtable())
                    .Where(c => c.Text.StartsWith(word, StringComparison.OrdinalIgnoreCase))
                    .Select(c => new CompletionResult(Quote(c.Text), c.Text, CompletionResultType.ParameterValue, string.IsNullOrEmpty(c.Tooltip) ? c.Text : c.Tooltip))
                    .ToList();
            }
            catch (Exception)
            {
                return Array.Empty<CompletionResult>();
            }
        }

        /// <summary>The candidates (text, tooltip) in the order they should be offered.</summary>
        protected abstract IEnumerable<(string Text, string? Tooltip)> Candidates(IDictionary bound);

        /// <summary>A bound parameter's value as a string (the first one of an array), or null.</summary>
        protected static string? Bound(IDictionary bound, string name)
        {
            if (!bound.Contains(name)) return null;
            var v = Unwrap(bound[name]);
            if (v is IList list && !(v is string)) v = list.Count > 0 ? Unwrap(list[0]) : null;
            var s = v?.ToString();
            return string.IsNullOrWhiteSpace(s) ? null : s;
        }

        protected static object? Unwrap(object? v) => v is PSObject p ? p.BaseObject : v;

        /// <summary>A path as the user typed it (relative to the current location, ~, a PSDrive) as a file-system path.</summary>
        protected static string ResolvePath(string path)
        {
            try
            {
                var resolved = ScriptBlock.Create("$ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($args[0])").Invoke(path);
                if (resolved.Count > 0 && resolved[0]?.BaseObject is string s && s.Length > 0) return s;
            }
            catch (Exception) { }
            return System.IO.Path.GetFullPath(path);
        }

        private static string Quote(string text) =>
            text.IndexOfAny(new[] { ' ', '\'', '"', '`', '$', ';', '(', ')', '{', '}', '@', '&', '|', ',', '#' }) >= 0
                ? "'" + text.Replace("'", "''") + "'"
                : text;
    }

    /// <summary>-RunId of the folder cmdlets: the runs recorded on the bound -Destination.</summary>
    public sealed class FolderRunIdCompleter : NekkCompleter
    {
        protected override IEnumerable<(string, string?)> Candidates(IDictionary bound)
        {
            var dest = Bound(bound, "Destination");
            if (dest == null) return Array.Empty<(string, string?)>();
            return FolderBackupEngine.GetRuns(ResolvePath(dest)).Reverse()
                .Select(r => (r.RunId, (string?)$"{r.Started:yyyy-MM-dd HH:mm} {r.Status}, {r.FilesScanned} files"));
        }
    }

    /// <summary>-ImageId / -ReferenceImageId of the Ghost cmdlets: the images in the bound -Repository.</summary>
    public sealed class GhostImageIdCompleter : NekkCompleter
    {
        protected override IEnumerable<(string, string?)> Candidates(IDictionary bound)
        {
            var repo = Bound(bound, "Repository");
            if (repo == null) return Array.Empty<(string, string?)>();
            return GhostRepository.List(ResolvePath(repo)).OrderByDescending(i => i.Created)
                .Select(i => (i.ImageId, (string?)$"{i.Created.ToLocalTime():yyyy-MM-dd HH:mm} {i.Host} {i.Source} ({Format.Bytes(i.SizeBytes)})"));
        }
    }

    /// <summary>-SnapshotId: the snapshots NekkBackup recorded on this machine.</summary>
    public sealed class SnapshotIdCompleter : NekkCompleter
    {
        protected override IEnumerable<(string, string?)> Candidates(IDictionary bound) =>
            SnapshotService.List().OrderByDescending(s => s.Created)
                .Select(s => (s.SnapshotId, (string?)$"{s.Created:yyyy-MM-dd HH:mm} {s.Provider} {s.SourcePath}"));
    }

    /// <summary>-Target of the credential cmdlets: the targets Set-NekkCredential stored.</summary>
    public sealed class CredentialTargetCompleter : NekkCompleter
    {
        protected override IEnumerable<(string, string?)> Candidates(IDictionary bound) =>
            CredentialStore.List().Select(c => (c.Target, (string?)$"{c.Kind}: {c.UserName}, stored {c.Updated:yyyy-MM-dd HH:mm}"));
    }

    /// <summary>-ProfileName: the profiles in the AWS shared credentials and config files.</summary>
    public sealed class AwsProfileCompleter : NekkCompleter
    {
        protected override IEnumerable<(string, string?)> Candidates(IDictionary bound) =>
            CloudClient.ProfileNames().Select(n => (n, (string?)("AWS profile " + n)));
    }

    /// <summary>Shared by the bucket completers: the bucket the command line names, asked with a short budget and no retries.</summary>
    public abstract class BucketCompleter : NekkCompleter
    {
        protected static CloudTarget? BucketTarget(IDictionary bound)
        {
            var bucket = Bound(bound, "Bucket");
            if (bucket == null) return null;
            var t = CloudCmdletBase.TargetFor(bucket, Bound(bound, "Prefix"), Bound(bound, "Endpoint"), Bound(bound, "Region"), Bound(bound, "ProfileName"),
                Unwrap(bound.Contains("Credential") ? bound["Credential"] : null) as PSCredential, Bound(bound, "HostName"), out _);
            return new CloudTarget
            {
                Bucket = t.Bucket, Prefix = t.Prefix, Endpoint = t.Endpoint, Region = t.Region, ProfileName = t.ProfileName,
                AccessKey = t.AccessKey, SecretKey = t.SecretKey, Host = t.Host,
                RequestTimeout = Budget, MaxRetryAttempts = 0,
            };
        }

        protected static T WithinBudget<T>(Func<CancellationToken, System.Threading.Tasks.Task<T>> call)
        {
            using var cts = new CancellationTokenSource(Budget);
            var task = System.Threading.Tasks.Task.Run(() => call(cts.Token));
            if (!task.Wait(Budget)) throw new TimeoutException();
            return task.GetAwaiter().GetResult();
        }
    }

    /// <summary>-RunId of the cloud cmdlets: the run manifests the bound bucket holds for the host.</summary>
    public sealed class CloudRunIdCompleter : BucketCompleter
    {
        protected override IEnumerable<(string, string?)> Candidates(IDictionary bound)
        {
            var target = BucketTarget(bound);
            if (target == null) return Array.Empty<(string, string?)>();
            var ids = WithinBudget(ct => new CloudRestoreEngine(target).GetRunIdsAsync(ct));
            return ids.Reverse().Select(id => (id, (string?)$"cloud run {id} ({target.HostName})"));
        }
    }

    /// <summary>-ArchiveId: the archives the bound bucket holds for the host.</summary>
    public sealed class CloudArchiveIdCompleter : BucketCompleter
    {
        protected override IEnumerable<(string, string?)> Candidates(IDictionary bound)
        {
            var target = BucketTarget(bound);
            if (target == null) return Array.Empty<(string, string?)>();
            var archives = WithinBudget(ct => new ArchiveCatalog(target).ListAsync(null, 4, ct));
            return archives.OrderByDescending(a => a.Created)
                .Select(a => (a.ArchiveId, (string?)$"{a.Project}, {a.Created.ToLocalTime():yyyy-MM-dd HH:mm}, {Format.Bytes(a.SizeBytes)}, {a.State}"));
        }
    }
}
