using System;

namespace NekkBackup
{
    /// <summary>One rule of Test-NekkBackupCompliance (docs/compliance.md).</summary>
    public sealed class ComplianceFinding
    {
        public string Host { get; init; } = "";
        public string Plan { get; init; } = "";
        /// <summary>ThreeCopies, TwoMedia, OneOffsite, FolderFresh, CloudFresh, ImageFresh, DrillWithin92Days, ImageRepositorySeparate, IntegrityCheckPassed.</summary>
        public string Rule { get; init; } = "";
        /// <summary>Pass, Warn or Fail. Only Fail makes the machine non-compliant.</summary>
        public string Status { get; init; } = "";
        public string Detail { get; init; } = "";
        /// <summary>What the verdict was read from (paths, run ids, times).</summary>
        public string Evidence { get; init; } = "";
        /// <summary>The instant judged (local).</summary>
        public DateTime AsOf { get; init; }

        public override string ToString() => $"{Rule}:{Status}";
    }
}
