using System;
using System.Collections;
using System.Collections.Generic;
using System.Management.Automation;
using NekkBackup.Commands.Folder;
using NekkBackup.Commands.Infrastructure;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Folder;
using NekkBackup.Core.Imaging;

namespace NekkBackup.Commands.Ghost
{
    /// <summary>
    /// Remove-NekkGhostImage: deletes images (by id, or those a GFS -Retention policy does not keep, per host) and
    /// frees the chunks nothing references any more. Images piped in are collected and removed per repository in
    /// one pass, so garbage collection runs once.
    /// </summary>
    [Cmdlet(VerbsCommon.Remove, "NekkGhostImage", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = ById)]
    [OutputType(typeof(GhostRemoveResult))]
    public sealed class RemoveNekkGhostImageCommand : NekkCmdlet
    {
        private const string ById = "ById";
        private const string ByRetention = "Retention";
        private readonly Dictionary<string, List<string>> _byRepository = new(StringComparer.Ordinal);
        private readonly Dictionary<string, List<string>> _kept = new(StringComparer.Ordinal);

        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string Repository { get; set; } = null!;

        [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true, ParameterSetName = ById)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(GhostImageIdCompleter))]
        public string[] ImageId { get; set; } = null!;

        /// <summary>@{ KeepLast; Hourly; Daily; Weekly; Monthly } — the same shape as Backup-NekkFolder -Retention.</summary>
        [Parameter(Mandatory = true, ParameterSetName = ByRetention)]
        public Hashtable Retention { get; set; } = null!;

        /// <summary>With -Retention: apply the policy to this host's images only (default every host, each separately).</summary>
        [Parameter(ParameterSetName = ByRetention)]
        [ValidateNotNullOrEmpty]
        public string? HostName { get; set; }

        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void ProcessRecord()
        {
            var repository = ResolveStorePath(Repository);
            if (ParameterSetName == ByRetention)
            {
                ProcessRetention(repository);
                return;
            }
            foreach (var id in ImageId)
            {
                if (!ShouldProcess($"{id} in {repository}", "Remove Ghost image"))
                {
                    if (WhatIfRequested) WriteObject(new PreviewItem { Action = "Remove", Path = id, Detail = repository });
                    continue;
                }
                Add(repository, id);
            }
        }

        private void ProcessRetention(string repository)
        {
            GhostRetentionPlan plan;
            RetentionPolicy policy;
            try
            {
                policy = RetentionParser.Parse(Retention)!;
                plan = ImageRetention.Plan(repository, policy, HostName);
            }
            catch (NekkBackupException ex)
            {
                Terminate(ex, repository);
                return;
            }
            foreach (var k in plan.Keep) WriteVerbose($"Retention keeps {k.ImageId} ({k.Host}, {k.Created.ToLocalTime():yyyy-MM-dd HH:mm}).");
            _kept[repository] = new List<string>(plan.Keep.Count);
            foreach (var k in plan.Keep) _kept[repository].Add(k.ImageId);
            if (!_byRepository.ContainsKey(repository)) _byRepository[repository] = new List<string>();
            foreach (var r in plan.Remove)
            {
                if (ShouldProcess($"{r.ImageId} ({r.Host}, {r.Created.ToLocalTime():yyyy-MM-dd HH:mm}, {r.NewBytes:N0} bytes of its own) in {repository}",
                        $"Remove Ghost image (retention {policy.Describe()})"))
                    Add(repository, r.ImageId);
                else if (WhatIfRequested)
                    WriteObject(new PreviewItem
                    {
                        Action = "Remove", Path = r.ImageId, Size = r.NewBytes,
                        Detail = $"{r.Host}, {r.Created.ToLocalTime():yyyy-MM-dd HH:mm}; retention {policy.Describe()}",
                    });
            }
        }

        private void Add(string repository, string id)
        {
            if (!_byRepository.TryGetValue(repository, out var list)) _byRepository[repository] = list = new List<string>();
            if (!list.Contains(id)) list.Add(id);
        }

        protected override void EndProcessing()
        {
            foreach (var kv in _byRepository)
            {
                var kept = _kept.TryGetValue(kv.Key, out var k) ? k.ToArray() : Array.Empty<string>();
                if (kv.Value.Count == 0)
                {
                    if (ParameterSetName == ByRetention) WriteVerbose($"Retention removes nothing from {kv.Key}.");
                    if (PassThru) WriteObject(new GhostRemoveResult { Repository = kv.Key, KeptImageIds = kept });
                    continue;
                }
                var result = Run((observer, ct) => GhostRepository.RemoveAsync(kv.Key, kv.Value, observer, ct), kv.Key);
                WriteVerbose($"Removed {result.RemovedImageIds.Length} image(s) from {kv.Key}; freed {result.FreedBytes:N0} bytes ({result.ChunksDeleted:N0} chunks).");
                if (PassThru)
                    WriteObject(new GhostRemoveResult
                    {
                        Repository = result.Repository, RemovedImageIds = result.RemovedImageIds, KeptImageIds = kept, FreedBytes = result.FreedBytes,
                        ChunksDeleted = result.ChunksDeleted, GarbageCollectionDeferred = result.GarbageCollectionDeferred,
                    });
            }
        }
    }
}
