using System;

namespace NekkBackup
{
    /// <summary>What Set-NekkCredential stored (never the secret).</summary>
    public sealed class StoredCredential
    {
        public string Target { get; init; } = "";
        public string UserName { get; init; } = "";
        /// <summary>Share (\\nas\share), Bucket, Smtp (smtp:server) or Webhook (webhook:name).</summary>
        public string Kind { get; init; } = "";
        /// <summary>DpapiLocalMachine (Windows: DPAPI LocalMachine scope in a SYSTEM/Administrators-only folder) or File0600 (Linux/macOS, root-only).</summary>
        public string Protection { get; init; } = "";
        public string Path { get; init; } = "";
        /// <summary>When it was stored (local time).</summary>
        public DateTime Updated { get; init; }

        public override string ToString() => Target;
    }
}
