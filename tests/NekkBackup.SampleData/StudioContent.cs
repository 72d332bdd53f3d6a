using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Numerics;
using System.Text;

namespace NekkBackup.SampleData
{
    public enum FileKind { Empty, Sparse, Wav, Mp3, PluginBinary, PresetBinary, Xml, Ini, Session, Log, Peaks, Notes }

    /// <summary>Content of every kind of studio file, written from a <see cref="DetRandom"/>.</summary>
    internal static class StudioContent
    {
        public const int KiB = 1024, MiB = 1024 * 1024;
        public const int WavHeaderBytes = 44;

        private static readonly int[] Sigmas = { 6, 8, 10, 12, 16, 24 };
        private static readonly Dictionary<int, byte[]> MsbTables = BuildTables();

        /// <summary>
        /// Maps a uniform byte to a signed byte with a bell-shaped distribution of standard deviation sigma: the
        /// quantiles of Binomial(4·sigma², ½) − 2·sigma², computed exactly with integers (no floating point, so the
        /// table is the same everywhere). Peaked most-significant bytes are what makes PCM audio compress poorly.
        /// </summary>
        private static Dictionary<int, byte[]> BuildTables()
        {
            var tables = new Dictionary<int, byte[]>();
            foreach (var sigma in Sigmas)
            {
                var n = 4 * sigma * sigma;
                var total = BigInteger.One << n;
                var table = new byte[256];
                BigInteger coefficient = BigInteger.One, cumulative = BigInteger.Zero;
                var k = 0;
                cumulative += coefficient;
                for (var i = 0; i < 256; i++)
                {
                    // smallest k with CDF(k) >= (i + 0.5) / 256, i.e. cumulative · 512 >= (2i + 1) · 2^n
                    var target = (2 * i + 1) * total;
                    while (cumulative * 512 < target)
                    {
                        coefficient = coefficient * (n - k) / (k + 1);
                        k++;
                        cumulative += coefficient;
                    }
                    table[i] = unchecked((byte)(sbyte)Math.Clamp(k - n / 2, -128, 127));
                }
                tables[sigma] = table;
            }
            return tables;
        }

        public static int PickSigma(DetRandom rng) => rng.Pick(Sigmas);

        /// <summary>PCM-like noise; <paramref name="alignOffset"/> is the first byte's position within a sample.</summary>
        public static void AudioBytes(DetRandom rng, Span<byte> buffer, int bits, int sigma, long alignOffset = 0)
        {
            rng.Fill(buffer);
            var bps = bits / 8;
            var table = MsbTables[sigma];
            var first = (int)Mod(bps - 1 - alignOffset, bps);
            for (var i = first; i < buffer.Length; i += bps) buffer[i] = table[buffer[i]];
        }

        public static long Mod(long a, long m) => ((a % m) + m) % m;

        public static byte[] WavHeader(long dataLength, int bits, int channels, int rate)
        {
            var h = new byte[WavHeaderBytes];
            var blockAlign = channels * bits / 8;
            Encoding.ASCII.GetBytes("RIFF").CopyTo(h, 0);
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(4), (uint)(36 + dataLength));
            Encoding.ASCII.GetBytes("WAVEfmt ").CopyTo(h, 8);
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(16), 16);
            BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(20), 1); // PCM
            BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(22), (ushort)channels);
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(24), (uint)rate);
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(28), (uint)(rate * blockAlign));
            BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(32), (ushort)blockAlign);
            BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(34), (ushort)bits);
            Encoding.ASCII.GetBytes("data").CopyTo(h, 36);
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(40), (uint)dataLength);
            return h;
        }

        /// <summary>A take: RIFF/WAVE PCM header, sometimes a pre-roll of digital silence (≤ 5 %), then noise. Returns the size written.</summary>
        public static long WriteWav(Stream s, DetRandom rng, long size)
        {
            var bits = rng.Pick(new[] { 16, 24, 24, 24 });
            var channels = rng.Pick(new[] { 1, 1, 1, 2 });
            var rate = rng.Pick(new[] { 44100, 48000, 48000, 96000 });
            var sigma = PickSigma(rng);
            var blockAlign = channels * bits / 8;
            var dataLength = Math.Max(0, (size - WavHeaderBytes) / blockAlign * blockAlign);
            s.Write(WavHeader(dataLength, bits, channels, rate));
            long silence = 0;
            if (rng.Chance(300)) silence = dataLength * rng.Range(0, 50) / 1000 / blockAlign * blockAlign;
            var chunk = new byte[4 * MiB / blockAlign * blockAlign];
            for (long done = 0; done < dataLength;)
            {
                int n;
                if (done < silence)
                {
                    n = (int)Math.Min(chunk.Length, silence - done);
                    Array.Clear(chunk, 0, n);
                }
                else
                {
                    n = (int)Math.Min(chunk.Length, dataLength - done);
                    AudioBytes(rng, chunk.AsSpan(0, n), bits, sigma);
                }
                s.Write(chunk, 0, n);
                done += n;
            }
            return WavHeaderBytes + dataLength;
        }

        /// <summary>Lines of XML parameters, INI settings, engine logs or notes, cut to exactly <paramref name="n"/> bytes.</summary>
        public static byte[] Text(DetRandom rng, int n, FileKind kind)
        {
            var sb = new StringBuilder(n + 128);
            var words = StudioNames.Words;
            var ci = CultureInfo.InvariantCulture;
            for (var i = 0; sb.Length < n; i++) // ASCII only: characters are bytes
            {
                switch (kind)
                {
                    case FileKind.Xml:
                        sb.Append(ci, $"  <param id=\"{i}\" name=\"{rng.Pick(words)}\" value=\"0.{rng.Next(10000):D4}\" automation=\"{rng.Pick(new[] { "off", "read", "latch" })}\"/>\n");
                        break;
                    case FileKind.Ini:
                        if (i % 12 == 0) sb.Append(ci, $"\n[{StudioNames.Capitalize(rng.Pick(words))}]\n");
                        else sb.Append(ci, $"{rng.Pick(words)}_{rng.Pick(words)}={rng.Range(0, 127)}\n");
                        break;
                    case FileKind.Log:
                        sb.Append(ci, $"2024-{rng.Range(1, 12):D2}-{rng.Range(1, 28):D2} {rng.Range(0, 23):D2}:{rng.Range(0, 59):D2}:{rng.Range(0, 59):D2} INFO audio engine: {rng.Pick(words)} {rng.Pick(words)} {rng.Range(0, 9999)}\n");
                        break;
                    default:
                        var count = rng.Range(4, 14);
                        for (var w = 0; w < count; w++) sb.Append(w == 0 ? "" : " ").Append(rng.Pick(words));
                        sb.Append(".\n");
                        break;
                }
            }
            var bytes = Encoding.UTF8.GetBytes(sb.ToString());
            Array.Resize(ref bytes, n);
            return bytes;
        }

        /// <summary>Binary with runs of zeros and repeated records (compresses 30-60 %), like plugin binaries and peak files.</summary>
        public static byte[] Binary(DetRandom rng, int n, int zeroPermille)
        {
            var output = new byte[n];
            var pos = 0;
            while (pos < n)
            {
                var r = rng.Next(1000);
                var k = Math.Min(rng.Range(16, 512), n - pos);
                if (r < zeroPermille) { /* zeros */ }
                else if (r < zeroPermille + 200)
                {
                    var record = rng.Bytes(rng.Range(4, 16));
                    for (var j = 0; j < k; j++) output[pos + j] = record[j % record.Length];
                }
                else rng.Fill(output.AsSpan(pos, k));
                pos += k;
            }
            return output;
        }

        private static byte[] Prefixed(byte[] head, byte[] body, int n)
        {
            var b = new byte[n];
            var h = Math.Min(head.Length, n);
            Array.Copy(head, b, h);
            Array.Copy(body, 0, b, h, Math.Min(body.Length, n - h));
            return b;
        }

        /// <summary>Content of a file of the given kind and size (not WAV, not sparse, not empty).</summary>
        public static byte[] Small(DetRandom rng, FileKind kind, int n)
        {
            switch (kind)
            {
                case FileKind.PresetBinary:
                    var head = new byte[32];
                    Encoding.ASCII.GetBytes("CcnK").CopyTo(head, 0);
                    BinaryPrimitives.WriteUInt32BigEndian(head.AsSpan(4), (uint)n);
                    Encoding.ASCII.GetBytes("FPCh").CopyTo(head, 8);
                    rng.Fill(head.AsSpan(12));
                    return Prefixed(head, rng.Bytes(Math.Max(0, n - head.Length)), n);
                case FileKind.Session:
                    return Prefixed(new byte[] { (byte)'P', (byte)'T', (byte)'S', (byte)'F', 0, 1 }, Binary(rng, n, 250), n);
                case FileKind.Peaks:
                    return Binary(rng, n, 100);
                case FileKind.Xml:
                    return Prefixed(Encoding.ASCII.GetBytes("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<preset>\n"), Text(rng, n, FileKind.Xml), n);
                case FileKind.Mp3:
                    return Prefixed(new byte[] { (byte)'I', (byte)'D', (byte)'3', 4, 0, 0 }, rng.Bytes(Math.Max(0, n - 6)), n);
                case FileKind.PluginBinary:
                    return Prefixed(new byte[] { (byte)'M', (byte)'Z', 0x90, 0 }, Binary(rng, Math.Max(0, n - 4), 350), n);
                default:
                    return Text(rng, n, kind);
            }
        }

        /// <summary>What a DAW writes into an existing file at <paramref name="position"/>: audio for takes, text for text files, else random.</summary>
        public static byte[] Payload(DetRandom rng, string rel, int n, long position = 0)
        {
            var ext = Path.GetExtension(rel).ToLowerInvariant();
            if (ext == ".wav")
            {
                var b = new byte[n];
                AudioBytes(rng, b, 24, rng.Pick(new[] { 8, 12, 16 }), Mod(position, 3));
                return b;
            }
            if (StudioNames.TextExtensions.Contains(ext)) return Text(rng, n, ext == ".log" ? FileKind.Log : FileKind.Notes);
            // A session, peak file or plugin binary saved again compresses as it did before (a DAW does not encrypt);
            // only kinds stored as noise (presets, MP3) get noise.
            foreach (var (_, kind, extensions) in StudioNames.SmallKinds)
                if (Array.IndexOf(extensions, ext) >= 0)
                    return kind == FileKind.Session ? Binary(rng, n, 250) : kind == FileKind.Peaks ? Binary(rng, n, 100) : rng.Bytes(n);
            return ext == ".mp3" ? rng.Bytes(n) : Binary(rng, n, 350);
        }
    }
}
