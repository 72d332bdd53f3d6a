using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Storage;

namespace NekkBackup.Core.Tests.Imaging
{
    /// <summary>
    /// A pass-through target that counts calls by operation and key prefix and can hold puts at a hook — to line two
    /// writers up on the same object (a <see cref="Barrier"/>) or watch what an engine asks its store.
    /// </summary>
    internal sealed class HookedTarget : IBackupTarget
    {
        private readonly IBackupTarget _inner;
        private readonly ConcurrentDictionary<string, int> _calls = new();

        public HookedTarget(IBackupTarget inner) => _inner = inner;

        /// <summary>Runs before a put reaches the inner target (on the caller's thread).</summary>
        public Action<string>? BeforePut { get; set; }

        /// <summary>Runs before a listing reaches the inner target (on the caller's thread).</summary>
        public Action<string>? BeforeList { get; set; }

        public string Location => _inner.Location;
        public TargetCapabilities Capabilities => _inner.Capabilities;

        /// <summary>Calls of <paramref name="operation"/> ("put", "read", "stat", "list", "delete", "move") on keys starting with <paramref name="prefix"/>.</summary>
        public int Calls(string operation, string prefix)
        {
            int n = 0;
            foreach (var kv in _calls)
                if (kv.Key.StartsWith(operation + " " + prefix, StringComparison.Ordinal)) n += kv.Value;
            return n;
        }

        private void Count(string operation, string key) => _calls.AddOrUpdate(operation + " " + key, 1, (_, n) => n + 1);

        public Task<TargetEntry> PutAsync(string key, Stream content, PutOptions? options, CancellationToken cancellationToken)
        {
            Count("put", key);
            BeforePut?.Invoke(key);
            return _inner.PutAsync(key, content, options, cancellationToken);
        }

        public Task<Stream> OpenReadAsync(string key, long offset, long length, CancellationToken cancellationToken)
        {
            Count("read", key);
            return _inner.OpenReadAsync(key, offset, length, cancellationToken);
        }

        public Task<TargetEntry?> StatAsync(string key, CancellationToken cancellationToken)
        {
            Count("stat", key);
            return _inner.StatAsync(key, cancellationToken);
        }

        public IAsyncEnumerable<TargetEntry> ListAsync(string prefix, CancellationToken cancellationToken)
        {
            Count("list", prefix);
            BeforeList?.Invoke(prefix);
            return _inner.ListAsync(prefix, cancellationToken);
        }

        public Task DeleteAsync(string key, CancellationToken cancellationToken)
        {
            Count("delete", key);
            return _inner.DeleteAsync(key, cancellationToken);
        }

        public Task MoveAsync(string fromKey, string toKey, bool overwrite, CancellationToken cancellationToken)
        {
            Count("move", fromKey);
            return _inner.MoveAsync(fromKey, toKey, overwrite, cancellationToken);
        }

        public bool IsPermanent(Exception error) => _inner.IsPermanent(error);
    }
}
