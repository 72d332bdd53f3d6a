using System;
using System.Buffers;
using System.IO;
using System.Threading;
using NekkBackup.Core.Storage;
using NekkBackup.Core.Validation;

namespace NekkBackup.Core.Imaging
{
    /// <summary>
    /// Chunk objects chunks/&lt;2 hex&gt;/&lt;sha256 hex of the raw bytes&gt; (<see cref="ChunkCodec"/>) through the repository's
    /// target. A chunk is stored with a conditional create (<see cref="PutMode.CreateNew"/>): of two captures storing the
    /// same content at once exactly one creates it and counts its bytes as new, and an existing chunk is never rewritten.
    /// Puts are not durable one by one (<see cref="PutOptions.Durable"/> false): the capture makes everything durable
    /// once, before its manifest commits the image (<see cref="ImageRepository.MakeDurable"/>).
    /// </summary>
    internal sealed class ChunkStore
    {
        private static readonly PutOptions ChunkPut = new() { Mode = PutMode.CreateNew, Durable = false };
        private readonly ImageRepository _repo;

        public ChunkStore(ImageRepository repo) => _repo = repo;

        /// <summary>Stores a chunk unless it exists. Returns whether this call created it and the stored object's length.</summary>
        public (bool Created, int Length) Put(ChunkId id, byte[] data, int offset, int count, bool compress, int level, CancellationToken ct)
        {
            var key = ImageRepository.ChunkKey(id);
            var file = ChunkCodec.Encode(data, offset, count, compress, level, out int length);
            try
            {
                TargetIo.Wait(_repo.Target.PutAsync(key, new MemoryStream(file, 0, length, false, publiclyVisible: true), ChunkPut, ct));
                return (true, length);
            }
            catch (TargetException e) when (e.ErrorKind == TargetErrorKind.AlreadyExists)
            {
                // Another capture (or host) stored the same content first: identical bytes, keep theirs.
                var there = TargetIo.Wait(_repo.Target.StatAsync(key, ct));
                return (false, there != null ? (int)Math.Min(there.Size, int.MaxValue) : length);
            }
            catch (TargetException e)
            {
                throw TargetIo.Map(e, Reasons.RepositoryCorrupt, _repo.Where(key));
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(file);
            }
        }

        /// <summary>
        /// Reads a chunk into <paramref name="buffer"/>, decompresses it and checks its SHA-256 against its name. Returns the
        /// raw length; throws <see cref="ChunkException"/>: Missing, Corrupt (also a FIFO, link or folder where it belongs,
        /// or an object larger than a chunk can be) or Unreadable.
        /// </summary>
        public int Read(ChunkId id, byte[] buffer, int expectedLength, CancellationToken ct = default)
        {
            var key = ImageRepository.ChunkKey(id);
            long max = ChunkCodec.MaxStoredLength(expectedLength);
            Stream s;
            try { s = TargetIo.Wait(_repo.Target.OpenReadAsync(key, 0, max + 1, ct)); }
            catch (TargetException e) when (e.ErrorKind == TargetErrorKind.NotFound) { throw new ChunkException("Missing", "the chunk file is missing"); }
            catch (TargetException e) when (TargetIo.IsDamage(e)) { throw new ChunkException("Corrupt", e.Message); }
            catch (TargetException e) { throw new ChunkException("Unreadable", e.Message); }
            var file = ArrayPool<byte>.Shared.Rent((int)max + 1);
            try
            {
                int got = 0;
                using (s)
                {
                    int n;
                    while (got < file.Length && (n = s.Read(file, got, file.Length - got)) > 0) got += n;
                }
                if (got > max) throw new ChunkException("Corrupt", $"the chunk file is larger than a chunk of {expectedLength} bytes can be");
                return ChunkCodec.Decode(file, got, id, buffer, expectedLength);
            }
            catch (IOException e) { throw new ChunkException("Unreadable", e.Message); }
            catch (UnauthorizedAccessException e) { throw new ChunkException("Unreadable", e.Message); }
            finally
            {
                ArrayPool<byte>.Shared.Return(file);
            }
        }
    }
}
