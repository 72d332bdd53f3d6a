using System;

namespace NekkBackup
{
    /// <summary>
    /// What Remove-NekkCloudBackup -Retention removed (or, with -WhatIf, would remove) from one host's part of a bucket
    /// (PRODUCT.md §3.4): the run manifests the GFS policy drops, then the data objects no remaining manifest names.
    /// </summary>
    public sealed class CloudPruneResult
    {
        public string Bucket { get; init; } = "";
        /// <summary>&lt;Prefix&gt;/&lt;host&gt; the prune worked on.</summary>
        public string Prefix { get; init; } = "";
        /// <summary>The policy applied, as text ("KeepLast 3, Daily 7"); empty for a sweep without a policy.</summary>
        public string Policy { get; init; } = "";
        /// <summary>Succeeded, WhatIf (a preview: nothing changed) or Refused (nothing removed; Reason says why).</summary>
        public string Status { get; init; } = "";
        public string? Reason { get; init; }
        /// <summary>Runs whose manifests stay (the policy keeps them, or a safety rule holds them: see Held).</summary>
        public string[] RunsKept { get; init; } = Array.Empty<string>();
        /// <summary>Runs whose manifests were removed (with -WhatIf: would be).</summary>
        public string[] RunsRemoved { get; init; } = Array.Empty<string>();
        /// <summary>Data objects removed (with -WhatIf: that would be), with their sizes.</summary>
        public CloudPruneObject[] Objects { get; init; } = Array.Empty<CloudPruneObject>();
        public long ObjectsRemoved { get; init; }
        /// <summary>Data objects left under data/ (named by a kept manifest, or held by a safety rule).</summary>
        public long ObjectsKept { get; init; }
        /// <summary>Bytes of the removed manifests and data objects.</summary>
        public long BytesFreed { get; init; }
        /// <summary>Manifests and objects retention would drop but a safety rule keeps (young, Object Lock, legal hold, minimum storage duration).</summary>
        public CloudPruneHeld[] Held { get; init; } = Array.Empty<CloudPruneHeld>();
        /// <summary>The id of an interrupted prune this run completed (its mark was found), or null.</summary>
        public string? CompletedPruneId { get; init; }
        public TimeSpan Duration { get; init; }

        public override string ToString() => $"{Prefix}: {RunsRemoved.Length} run(s), {ObjectsRemoved} object(s) removed";
    }

    /// <summary>One data object a prune removed (or would remove).</summary>
    public sealed class CloudPruneObject
    {
        public string Key { get; init; } = "";
        public long SizeBytes { get; init; }

        public override string ToString() => Key;
    }

    /// <summary>A manifest or data object retention drops but a safety rule keeps.</summary>
    public sealed class CloudPruneHeld
    {
        public string Key { get; init; } = "";
        /// <summary>Manifest or Object.</summary>
        public string Kind { get; init; } = "";
        /// <summary>Young, ObjectLock, LegalHold or MinimumStorageDuration.</summary>
        public string Reason { get; init; } = "";
        public string Detail { get; init; } = "";
        public long SizeBytes { get; init; }

        public override string ToString() => $"{Key}: {Detail}";
    }
}
