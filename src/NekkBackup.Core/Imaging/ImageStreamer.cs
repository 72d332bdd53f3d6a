using System;
using System.Buffers;
using System.Security.Cryptography;
using System.Threading;
using NekkBackup.Core.Primitives;

namespace NekkBackup.Core.Imaging
{
    /// <summary>
    /// Streams an image in volume order — the one read path of restore and the restore drill: chunks are read,
    /// decompressed and verified in parallel and handed over in order (zero chunks as a zero buffer), the volume
    /// re-hashed on the way.
    /// </summary>
    internal static class ImageStreamer
    {
        internal sealed class Chunk
        {
            public long Index;
            public int Count;
            public bool Zero;
            public ChunkId Id;
            public byte[]? Buffer;
            /// <summary>Set for a bad chunk (its bytes are then zeros).</summary>
            public ChunkException? Error;
        }

        /// <summary>
        /// Hands every chunk of <paramref name="m"/> to <paramref name="onChunk"/> in order and returns the SHA-256 of the
        /// reconstructed volume ("" without <paramref name="volumeDigest"/>). A bad chunk arrives with its error set.
        /// </summary>
        public static string Stream(ImageRepository repo, ImageIndexReader index, int workers, CancellationToken ct,
            Action<Chunk, byte[]> onChunk, Action<long, long>? progress, bool volumeDigest = true)
        {
            var chunks = new ChunkStore(repo);
            var pool = ArrayPool<byte>.Create(index.ChunkSize, workers * 2 + 4);
            var zero = new byte[index.ChunkSize];
            long done = 0, n = 0;
            using var volume = volumeDigest ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
            OrderedPipeline.Run<Chunk>(
                produce: () =>
                {
                    var it = new Chunk();
                    if (!index.Next(out it.Id, out it.Index, out it.Zero)) return null;
                    it.Count = index.LengthOf(it.Index);
                    if (!it.Zero) it.Buffer = pool.Rent(index.ChunkSize);
                    return it;
                },
                work: it =>
                {
                    if (it.Zero) return;
                    try { chunks.Read(it.Id, it.Buffer!, it.Count, ct); }
                    catch (ChunkException e)
                    {
                        it.Error = e;
                        Array.Clear(it.Buffer!, 0, it.Count);
                    }
                },
                complete: it =>
                {
                    var buf = it.Zero ? zero : it.Buffer!;
                    volume?.AppendData(buf, 0, it.Count);
                    onChunk(it, buf);
                    if (!it.Zero) pool.Return(it.Buffer!);
                    done += it.Count;
                    n++;
                    progress?.Invoke(done, n);
                },
                workers, ct);
            return volume != null ? Hex.Encode(volume.GetHashAndReset()) : "";
        }
    }
}
