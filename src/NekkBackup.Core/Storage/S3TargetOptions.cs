using System;
using System.Collections;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Primitives;

namespace NekkBackup.Core.Storage
{
    /// <summary>How an <see cref="S3Target"/> lays out and uploads objects. Connection and secrets stay in Cloud.CloudTarget.</summary>
    public sealed class S3TargetOptions
    {
        public static readonly string[] Keys = { "RootPrefix", "PartSize", "ConditionalCreate", "ObjectLock" };
        public const long MinPartSize = 5L << 20;
        /// <summary>S3 allows 5 GiB parts; each part is buffered in memory, so NekkBackup stops at 512 MiB (5 TiB objects at 10,000 parts).</summary>
        public const long MaxPartSize = 512L << 20;

        /// <summary>Key prefix inside the bucket that is this target's root ("" or ending in '/', e.g. "studio/host/ghost/").</summary>
        public string RootPrefix { get; init; } = "";

        /// <summary>Objects up to this size go up in one PutObject; larger ones as a multipart upload of parts this size.</summary>
        public long PartSize { get; init; } = 8L << 20;

        /// <summary>Null: probed at open (PutObject with If-None-Match: * must answer 412 on an existing key).</summary>
        public bool? ConditionalCreate { get; init; }

        /// <summary>Null: probed at open (GetObjectLockConfiguration says Enabled).</summary>
        public bool? ObjectLock { get; init; }

        public static S3TargetOptions FromDictionary(IDictionary? data)
        {
            var r = new OptionsReader(data, "S3 target", "InvalidTargetOptions", Keys);
            var o = new S3TargetOptions
            {
                RootPrefix = r.String("RootPrefix") ?? "",
                PartSize = r.Long("PartSize", MinPartSize, MaxPartSize) ?? (8L << 20),
                ConditionalCreate = r.Bool("ConditionalCreate"),
                ObjectLock = r.Bool("ObjectLock"),
            };
            o.Validate();
            return o;
        }

        public void Validate()
        {
            if (PartSize < MinPartSize || PartSize > MaxPartSize)
                throw Error("PartSize", $"must be between {MinPartSize} and {MaxPartSize} bytes, was {PartSize}");
            if (RootPrefix.Length == 0) return;
            if (RootPrefix[RootPrefix.Length - 1] != '/')
                throw Error("RootPrefix", $"'{RootPrefix}' must end with '/'");
            var problem = StorageKeys.Problem(RootPrefix.Substring(0, RootPrefix.Length - 1), new TargetCapabilities { NameRules = KeyNameRules.ObjectStore });
            if (problem != null) throw Error("RootPrefix", $"'{RootPrefix}' is not a valid key prefix: {problem}");
        }

        private static NekkBackupException Error(string key, string problem) =>
            new("InvalidTargetOptions", FailureKind.InvalidArgument, $"The S3 target option '{key}' {problem}.", key);
    }
}
