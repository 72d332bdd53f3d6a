using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;

namespace NekkBackup.Core.Storage
{
    /// <summary>
    /// The one storage seam every leg writes through (restic's backend, kopia's blob storage): a flat
    /// namespace of '/'-separated keys (<see cref="StorageKeys"/>) holding whole objects. Implementations:
    /// <see cref="LocalDirectoryTarget"/> (a NAS folder or any mounted file system), <see cref="S3Target"/>;
    /// decorators: <see cref="RetryingTarget"/>. Every implementation passes the conformance suite
    /// (tests/NekkBackup.Core.Tests/Storage/BackupTargetConformance.cs).
    /// <para>Errors are <see cref="TargetException"/>s with a <see cref="TargetErrorKind"/>;
    /// <see cref="IsPermanent"/> tells the retry layer which ones are worth another attempt.</para>
    /// </summary>
    public interface IBackupTarget
    {
        /// <summary>Where the target points, for messages and logs (a path, s3://bucket/prefix). Never holds secrets.</summary>
        string Location { get; }

        /// <summary>What this store can and cannot do; legs choose their commit strategy from it.</summary>
        TargetCapabilities Capabilities { get; }

        /// <summary>
        /// Stores <paramref name="content"/> (read to its end) under <paramref name="key"/>. A put is atomic:
        /// readers see the old object, no object, or the whole new one — never part of it, even when the
        /// writer dies. With <see cref="PutMode.CreateNew"/> an existing object is a
        /// <see cref="TargetErrorKind.AlreadyExists"/> error (race-free only where
        /// <see cref="TargetCapabilities.ConditionalCreate"/>).
        /// </summary>
        Task<TargetEntry> PutAsync(string key, Stream content, PutOptions? options, CancellationToken cancellationToken);

        /// <summary>
        /// Opens an object for reading from <paramref name="offset"/>, at most <paramref name="length"/> bytes
        /// (-1: to the end). NotFound when absent; RangeNotSatisfiable when <paramref name="offset"/> is past the end.
        /// </summary>
        Task<Stream> OpenReadAsync(string key, long offset, long length, CancellationToken cancellationToken);

        /// <summary>The object's size and time, or null when there is none.</summary>
        Task<TargetEntry?> StatAsync(string key, CancellationToken cancellationToken);

        /// <summary>
        /// Every object whose key starts with <paramref name="prefix"/> (a plain string prefix, as in S3; "" lists
        /// all), in no particular order. Entries a target cannot vouch for (links, devices, invalid names, temp
        /// files) are left out.
        /// </summary>
        IAsyncEnumerable<TargetEntry> ListAsync(string prefix, CancellationToken cancellationToken);

        /// <summary>Removes an object. Idempotent: removing an absent key succeeds.</summary>
        Task DeleteAsync(string key, CancellationToken cancellationToken);

        /// <summary>
        /// Moves an object to a new key (atomic where <see cref="TargetCapabilities.AtomicRename"/>, else copy then
        /// delete). Without <paramref name="overwrite"/> an existing destination is AlreadyExists.
        /// </summary>
        Task MoveAsync(string fromKey, string toKey, bool overwrite, CancellationToken cancellationToken);

        /// <summary>
        /// True when retrying <paramref name="error"/> cannot help: not found, exists, access denied, bad key,
        /// full, corrupt content, cancellation by the caller. The retry decorator asks this, never guesses.
        /// </summary>
        bool IsPermanent(Exception error);
    }
}
