using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Resilience;
using NekkBackup.Core.Storage;
using NekkBackup.Core.Tests.TestKit;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Xunit;

namespace NekkBackup.Core.Tests.Storage
{
    /// <summary>The retry rules (STYLE.md §3.7) proven with the fault injector over a real folder.</summary>
    public class RetryingTargetTests : IDisposable
    {
        private readonly TempDir _dir = new("retry");
        private readonly FaultyTarget _faulty;
        private readonly List<LogEvent> _events = new();
        private readonly List<string> _messages = new();
        private readonly RetryingTarget _target;

        public RetryingTargetTests()
        {
            _faulty = new FaultyTarget(LocalDirectoryTarget.Open(_dir.Path));
            var log = new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(new ListSink(_events)).CreateLogger();
            _target = new RetryingTarget(_faulty, new NekkResilience.RetryPreset(3, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(5)), log, new Spy(_messages));
        }

        public void Dispose() => _dir.Dispose();

        private sealed class ListSink : ILogEventSink
        {
            private readonly List<LogEvent> _events;
            public ListSink(List<LogEvent> events) => _events = events;
            public void Emit(LogEvent logEvent) { lock (_events) _events.Add(logEvent); }
        }

        private sealed class Spy : IRunObserver
        {
            private readonly List<string> _m;
            public Spy(List<string> m) => _m = m;
            public void Progress(RunProgress progress) { }
            public void Message(RunMessageLevel level, string text) { lock (_m) _m.Add(level + ": " + text); }
            public void ItemFailed(string item, NekkBackupException error) { }
        }

        [Fact]
        public async Task Transient_faults_are_retried_with_one_log_line_each()
        {
            _faulty.FailNext("put", 2, permanent: false);
            await _target.PutAsync("a", new MemoryStream(new byte[] { 1, 2, 3 }), null, CancellationToken.None);
            Assert.Equal(3, _faulty.Calls("put"));
            Assert.Equal(2, _target.Retries);
            Assert.Equal(2, _events.Count(e => e.Level == LogEventLevel.Warning));
            Assert.All(_events, e => Assert.Contains("put a", e.RenderMessage()));
            Assert.Equal(2, _messages.Count(m => m.StartsWith("Verbose: Transient fault")));
            Assert.Equal(3, (await _target.StatAsync("a", CancellationToken.None))!.Size);
        }

        [Fact]
        public async Task Permanent_faults_are_never_retried()
        {
            _faulty.FailNext("read", 1, permanent: true);
            await _target.PutAsync("a", new MemoryStream(new byte[] { 1 }), null, CancellationToken.None);
            var ex = await Assert.ThrowsAsync<TargetException>(() => _target.OpenReadAsync("a", 0, -1, CancellationToken.None));
            Assert.Equal(TargetErrorKind.AccessDenied, ex.ErrorKind);
            Assert.Equal(1, _faulty.Calls("read"));
            // Not found is permanent too: one call, no retry.
            await Assert.ThrowsAsync<TargetException>(() => _target.OpenReadAsync("missing", 0, -1, CancellationToken.None));
            Assert.Equal(2, _faulty.Calls("read"));
            Assert.Equal(0, _target.Retries);
            Assert.Empty(_events);
        }

        [Fact]
        public async Task The_retry_budget_ends_with_the_last_fault()
        {
            _faulty.FailNext("stat", 10, permanent: false);
            var ex = await Assert.ThrowsAsync<TargetException>(() => _target.StatAsync("x", CancellationToken.None));
            Assert.Equal(TargetErrorKind.Unavailable, ex.ErrorKind);
            Assert.Equal(4, _faulty.Calls("stat")); // the first attempt and three retries
            Assert.Equal(3, _events.Count);
        }

        [Fact]
        public async Task A_cancelled_token_never_reaches_the_store()
        {
            using var cts = new CancellationTokenSource();
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _target.PutAsync("a", new MemoryStream(new byte[] { 1 }), null, cts.Token));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _target.StatAsync("a", cts.Token));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _target.DeleteAsync("a", cts.Token));
            Assert.Equal(0, _faulty.Calls("put") + _faulty.Calls("stat") + _faulty.Calls("delete"));
        }

        [Fact]
        public async Task Cancelling_during_the_backoff_stops_the_retries()
        {
            var slow = new RetryingTarget(_faulty, new NekkResilience.RetryPreset(5, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5)));
            _faulty.FailNext("stat", 5, permanent: false);
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
            var sw = System.Diagnostics.Stopwatch.StartNew();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => slow.StatAsync("x", cts.Token));
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(4), "cancellation interrupts the backoff delay");
            Assert.Equal(1, _faulty.Calls("stat"));
        }

        [Fact]
        public async Task A_put_whose_stream_cannot_be_rewound_is_retried_only_while_nothing_was_read()
        {
            // A fault before the first byte: retried, and the object lands whole.
            _faulty.FailNext("put", 1, permanent: false);
            await _target.PutAsync("a", new NonSeekable(new byte[] { 1, 2 }), null, CancellationToken.None);
            Assert.Equal(2, _faulty.Calls("put"));
            Assert.Equal(2, (await _target.StatAsync("a", CancellationToken.None))!.Size);
            // A fault after part of the stream was read: surfaced, never replayed from the middle.
            _faulty.TearNextPuts(1, 10);
            var ex = await Assert.ThrowsAsync<TargetException>(() => _target.PutAsync("b", new NonSeekable(new byte[1000]), null, CancellationToken.None));
            Assert.True(ex.IsTransient);
            Assert.Equal(3, _faulty.Calls("put"));
            Assert.Null(await _target.StatAsync("b", CancellationToken.None));
        }

        [Fact]
        public async Task A_torn_write_is_retried_from_the_start_and_lands_whole()
        {
            var data = new byte[3 * 1024 * 1024];
            new Random(5).NextBytes(data);
            _faulty.TearNextPuts(1, 1024 * 1024);
            await _target.PutAsync("big", new MemoryStream(data), null, CancellationToken.None);
            using var s = await _target.OpenReadAsync("big", 0, -1, CancellationToken.None);
            using var ms = new MemoryStream();
            await s.CopyToAsync(ms);
            Assert.Equal(data, ms.ToArray());
            Assert.Equal(1, _target.Retries);
            Assert.Empty(Directory.EnumerateFiles(Path.Combine(_dir.Path, StorageKeys.TempSegment)));
        }

        [Fact]
        public async Task A_listing_is_retried_until_its_first_entry()
        {
            await _target.PutAsync("l/1", new MemoryStream(new byte[] { 1 }), null, CancellationToken.None);
            _faulty.FailNext("list", 2, permanent: false);
            var keys = new List<string>();
            await foreach (var e in _target.ListAsync("l/", CancellationToken.None)) keys.Add(e.Key);
            Assert.Equal(new[] { "l/1" }, keys);
            Assert.Equal(3, _faulty.Calls("list"));
        }

        private sealed class NonSeekable : MemoryStream
        {
            public NonSeekable(byte[] b) : base(b) { }
            public override bool CanSeek => false;
        }
    }
}
