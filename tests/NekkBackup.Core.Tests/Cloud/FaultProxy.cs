using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace NekkBackup.Core.Tests.Cloud
{
    /// <summary>One HTTP request seen by the proxy (client → server).</summary>
    public sealed record RecordedRequest(int Connection, string Method, string Target, IReadOnlyDictionary<string, string> Headers)
    {
        public string Path => Target.Split('?')[0];
        public string Query => Target.Contains('?') ? Target.Substring(Target.IndexOf('?') + 1) : "";
        public string? Header(string name) => Headers.TryGetValue(name.ToLowerInvariant(), out var v) ? v : null;
    }

    public enum FaultKind { None, Reset, Stall }

    /// <summary>
    /// TCP proxy between the client and s3rver: forwards bytes, records every HTTP request line and its headers
    /// (so tests see what the client sent even where s3rver does not implement a call), and injects faults —
    /// a connection reset (RST) or a stall after some bytes — on the connections the policy picks.
    /// </summary>
    public sealed class FaultProxy : IDisposable
    {
        private readonly TcpListener _listener;
        private readonly int _upstreamPort;
        private readonly CancellationTokenSource _cts = new();
        private readonly ConcurrentQueue<RecordedRequest> _requests = new();
        private readonly ConcurrentBag<TcpClient> _open = new();
        private int _connections;
        private int _faults;

        /// <param name="policy">(connection number, 1-based) → fault and the client→server byte count after which it strikes.</param>
        public FaultProxy(int upstreamPort, Func<int, (FaultKind Kind, long AfterBytes)>? policy = null)
        {
            _upstreamPort = upstreamPort;
            Policy = policy ?? (_ => (FaultKind.None, 0));
            _listener = new TcpListener(IPAddress.Loopback, 0);
            _listener.Start(100);
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            _ = AcceptLoopAsync();
        }

        public Func<int, (FaultKind Kind, long AfterBytes)> Policy { get; set; }

        /// <summary>Answer RestoreObject (POST ?restore) with 202 Accepted instead of forwarding it, as S3 does
        /// (s3rver does not implement it), so the thaw path can be tested end to end.</summary>
        public bool AcceptRestoreRequests { get; set; }

        /// <summary>
        /// Answers a request itself instead of forwarding it when this returns a whole HTTP response (for what
        /// s3rver cannot do: a cold object's HEAD with x-amz-restore, a GET refused with InvalidObjectState).
        /// The request is still recorded.
        /// </summary>
        public Func<RecordedRequest, byte[]?>? Responder { get; set; }
        public int Port { get; }
        public string Endpoint => $"http://127.0.0.1:{Port}";
        public int Connections => Volatile.Read(ref _connections);
        public int FaultsInjected => Volatile.Read(ref _faults);
        public IReadOnlyList<RecordedRequest> Requests => _requests.ToArray();

        private async Task AcceptLoopAsync()
        {
            while (!_cts.IsCancellationRequested)
            {
                TcpClient client;
                try { client = await _listener.AcceptTcpClientAsync(_cts.Token); }
                catch { return; }
                int n = Interlocked.Increment(ref _connections);
                _ = HandleAsync(client, n);
            }
        }

        private async Task HandleAsync(TcpClient client, int n)
        {
            var upstream = new TcpClient();
            _open.Add(client);
            _open.Add(upstream);
            try
            {
                client.NoDelay = true;
                await upstream.ConnectAsync(IPAddress.Loopback, _upstreamPort);
                upstream.NoDelay = true;
                var fault = Policy(n);
                var parser = new RequestParser(n, _requests);
                var up = PumpAsync(client.GetStream(), upstream.GetStream(), parser, fault, client, upstream);
                var down = PumpAsync(upstream.GetStream(), client.GetStream(), null, (FaultKind.None, 0), client, upstream);
                await Task.WhenAny(up, down);
            }
            catch { }
            finally
            {
                Close(client, false);
                Close(upstream, false);
            }
        }

        private async Task PumpAsync(NetworkStream from, NetworkStream to, RequestParser? parser, (FaultKind Kind, long After) fault, TcpClient client, TcpClient upstream)
        {
            var buf = new byte[64 * 1024];
            long total = 0;
            try
            {
                while (!_cts.IsCancellationRequested)
                {
                    int read = await from.ReadAsync(buf, 0, buf.Length, _cts.Token);
                    if (read == 0) { try { to.Socket.Shutdown(SocketShutdown.Send); } catch { } await Task.Delay(Timeout.Infinite, _cts.Token).ContinueWith(_ => { }); return; }
                    if (parser != null && parser.AtBoundary && (AcceptRestoreRequests || Responder != null) && TryParseHead(buf, read, out var head))
                    {
                        byte[]? reply = null;
                        if (AcceptRestoreRequests && head.Method == "POST" && (head.Query.StartsWith("restore", StringComparison.Ordinal) || head.Query.Contains("&restore")))
                            reply = Encoding.ASCII.GetBytes("HTTP/1.1 202 Accepted\r\nx-amz-request-id: proxy\r\nContent-Length: 0\r\n\r\n");
                        else if (Responder != null)
                            reply = Responder(head);
                        if (reply != null)
                        {
                            parser.Feed(buf, read);
                            long left = parser.BodyLeft;
                            while (left > 0)
                            {
                                int r = await from.ReadAsync(buf, 0, (int)Math.Min(buf.Length, left), _cts.Token);
                                if (r == 0) return;
                                parser.Feed(buf, r);
                                left = parser.BodyLeft;
                            }
                            await client.GetStream().WriteAsync(reply, 0, reply.Length, _cts.Token);
                            continue;
                        }
                    }
                    parser?.Feed(buf, read);
                    if (fault.Kind != FaultKind.None && total + read > fault.After)
                    {
                        int keep = (int)Math.Max(0, fault.After - total);
                        if (keep > 0) await to.WriteAsync(buf, 0, keep, _cts.Token);
                        Interlocked.Increment(ref _faults);
                        if (fault.Kind == FaultKind.Reset)
                        {
                            Close(client, true);
                            Close(upstream, true);
                            return;
                        }
                        await Task.Delay(Timeout.Infinite, _cts.Token); // stall: hold the connection, send nothing
                    }
                    await to.WriteAsync(buf, 0, read, _cts.Token);
                    total += read;
                }
            }
            catch { }
        }

        /// <summary>The request whose complete header block starts <paramref name="buf"/>, if it does.</summary>
        private static bool TryParseHead(byte[] buf, int n, out RecordedRequest request)
        {
            request = null!;
            var text = Encoding.ASCII.GetString(buf, 0, Math.Min(n, 16384));
            int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end < 0) return false;
            request = ParseHead(0, text.Substring(0, end + 4));
            return true;
        }

        internal static RecordedRequest ParseHead(int connection, string text)
        {
            var lines = text.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
            var first = lines[0].Split(' ');
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var l in lines.Skip(1))
            {
                int c = l.IndexOf(':');
                if (c > 0) headers[l.Substring(0, c).Trim().ToLowerInvariant()] = l.Substring(c + 1).Trim();
            }
            return new RecordedRequest(connection, first[0], first.Length > 1 ? first[1] : "", headers);
        }

        private static void Close(TcpClient c, bool reset)
        {
            try
            {
                if (reset) c.Client.LingerState = new LingerOption(true, 0);
                c.Close();
            }
            catch { }
        }

        public void Dispose()
        {
            _cts.Cancel();
            _listener.Stop();
            foreach (var c in _open) Close(c, false);
        }

        /// <summary>Splits the client's byte stream into HTTP requests (Content-Length bodies).</summary>
        private sealed class RequestParser
        {
            private readonly int _conn;
            private readonly ConcurrentQueue<RecordedRequest> _sink;
            private readonly List<byte> _head = new();
            private long _bodyLeft;
            private bool _lost;

            public bool AtBoundary => _bodyLeft == 0 && _head.Count == 0 && !_lost;
            public long BodyLeft => _bodyLeft;

            public RequestParser(int conn, ConcurrentQueue<RecordedRequest> sink)
            {
                _conn = conn;
                _sink = sink;
            }

            public void Feed(byte[] data, int count)
            {
                int i = 0;
                while (i < count && !_lost)
                {
                    if (_bodyLeft > 0)
                    {
                        long skip = Math.Min(_bodyLeft, count - i);
                        _bodyLeft -= skip;
                        i += (int)skip;
                        continue;
                    }
                    _head.Add(data[i++]);
                    int h = _head.Count;
                    if (h >= 4 && _head[h - 4] == '\r' && _head[h - 3] == '\n' && _head[h - 2] == '\r' && _head[h - 1] == '\n')
                    {
                        var text = Encoding.ASCII.GetString(_head.ToArray());
                        _head.Clear();
                        var request = ParseHead(_conn, text);
                        var headers = request.Headers;
                        _sink.Enqueue(request);
                        if (headers.TryGetValue("transfer-encoding", out var te) && te.Contains("chunked")) _lost = true;
                        else if (headers.TryGetValue("content-length", out var cl) && long.TryParse(cl, out var len)) _bodyLeft = len;
                    }
                    else if (h > 64 * 1024) _lost = true;
                }
            }
        }
    }
}
