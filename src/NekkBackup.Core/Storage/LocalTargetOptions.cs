using System;
using System.Collections;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Primitives;

namespace NekkBackup.Core.Storage
{
    /// <summary>How a <see cref="LocalDirectoryTarget"/> opens its folder. Null capabilities are probed on the folder itself.</summary>
    public sealed class LocalTargetOptions
    {
        public static readonly string[] Keys = { "CreateRoot", "NameRules", "CaseSensitive", "TempMaxAge" };

        /// <summary>Create the root folder when only it is missing (its parent must exist: an absent share is an error, not a new folder).</summary>
        public bool CreateRoot { get; init; }

        /// <summary>Null: Windows rules on Windows, else probed (an ntfs-3g windows_names or SMB mount refuses '?').</summary>
        public KeyNameRules? NameRules { get; init; }

        /// <summary>Null: probed by creating a name and looking it up in the other case.</summary>
        public bool? CaseSensitive { get; init; }

        /// <summary>Temp files of killed writers older than this are swept when the target opens.</summary>
        public TimeSpan TempMaxAge { get; init; } = TimeSpan.FromHours(1);

        public static LocalTargetOptions FromDictionary(IDictionary? data)
        {
            var r = new OptionsReader(data, "local target", "InvalidTargetOptions", Keys);
            var o = new LocalTargetOptions
            {
                CreateRoot = r.Bool("CreateRoot") ?? false,
                NameRules = r.Choice<KeyNameRules>("NameRules"),
                CaseSensitive = r.Bool("CaseSensitive"),
                TempMaxAge = r.Duration("TempMaxAge", TimeSpan.FromMinutes(1), TimeSpan.FromDays(30)) ?? TimeSpan.FromHours(1),
            };
            o.Validate();
            return o;
        }

        public void Validate()
        {
            if (TempMaxAge < TimeSpan.FromSeconds(1))
                throw new NekkBackupException("InvalidTargetOptions", FailureKind.InvalidArgument, $"The local target option 'TempMaxAge' must be at least one second (was {TempMaxAge}).", "TempMaxAge");
            if (NameRules == KeyNameRules.ObjectStore)
                throw new NekkBackupException("InvalidTargetOptions", FailureKind.InvalidArgument, "The local target option 'NameRules' must be Posix or Windows.", "NameRules");
        }
    }
}
