using System;
using System.IO;

namespace NekkBackup.Core.Imaging
{
    /// <summary>
    /// Random-access reads of an image as it would be restored, straight from the repository: each chunk is
    /// read, decompressed and checked against its SHA-256 (zero chunks read as zeros), the last one cached.
    /// The restore drill parses a used-block image's own allocation bitmaps through it.
    /// A damaged chunk is an <see cref="IOException"/>.
    /// </summary>
    internal sealed class ImageBlockSource : IBlockSource
    {
        private readonly ChunkStore _chunks;
        private readonly ImageIndexReader _index;
        private readonly byte[] _chunk;
        private long _cached = -1;

        public ImageBlockSource(ImageRepository repo, ImageManifest manifest)
        {
            _chunks = new ChunkStore(repo);
            _index = ImageIndexReader.Open(repo, manifest);
            _chunk = new byte[_index.ChunkSize];
            Path = manifest.ImageId;
            Length = manifest.SizeBytes;
        }

        public string Path { get; }
        public long Length { get; }

        /// <summary>Is chunk <paramref name="index"/> an all-zero chunk (stored as nothing)?</summary>
        public bool IsZeroChunk(long index) => _index.At(index, out _);

        public int ChunkSize => _index.ChunkSize;

        public int Read(long offset, byte[] buffer, int count)
        {
            if (offset < 0 || count < 0 || count > buffer.Length) throw new ArgumentOutOfRangeException(nameof(offset));
            int done = 0;
            while (done < count && offset + done < Length)
            {
                long pos = offset + done;
                long c = pos / _index.ChunkSize;
                int within = (int)(pos - c * _index.ChunkSize);
                int len = _index.LengthOf(c);
                int n = Math.Min(count - done, len - within);
                if (c != _cached)
                {
                    if (_index.At(c, out var id)) Array.Clear(_chunk, 0, len);
                    else
                    {
                        try { _chunks.Read(id, _chunk, len); }
                        catch (ChunkException e) { _cached = -1; throw new IOException($"chunk {c} of image '{Path}' is {e.Problem.ToLowerInvariant()}: {e.Message}", e); }
                    }
                    _cached = c;
                }
                Buffer.BlockCopy(_chunk, within, buffer, done, n);
                done += n;
            }
            return done;
        }

        public void Dispose() => _index.Dispose();
    }
}
