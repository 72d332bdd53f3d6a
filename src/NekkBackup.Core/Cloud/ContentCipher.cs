using System;
using System.Collections.Concurrent;
using System.IO;
using System.Security.Cryptography;
using System.Text;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Cloud
{
    /// <summary>
    /// Client-side AES-256-GCM in chunked framing, so memory stays bounded whatever the object size:
    /// header "NKC1" | kdf(1) | 0 0 0 | chunkSize (int32 LE) | salt(16) | noncePrefix(8), then frames of
    /// ciphertext+tag(16). Nonce = noncePrefix | chunk index (uint32 BE). AAD = header | final flag, so frames
    /// can be neither reordered nor cut off. Every frame but the last holds exactly chunkSize plaintext bytes;
    /// the last holds fewer (possibly 0). The object name stays the SHA-256 of the plaintext.
    /// </summary>
    public sealed class ContentCipher
    {
        public const string Name = "aes-256-gcm-chunked/1";
        public const int HeaderSize = 36;
        public const int TagSize = 16;
        public const int DefaultChunkSize = 1024 * 1024;
        private const int Pbkdf2Iterations = 200_000;

        private readonly byte[]? _rawKey;
        private readonly string? _passphrase;
        private readonly ConcurrentDictionary<string, byte[]> _derived = new();

        private ContentCipher(byte[]? rawKey, string? passphrase)
        {
            _rawKey = rawKey;
            _passphrase = passphrase;
        }

        public static ContentCipher FromPassphrase(string passphrase)
        {
            if (string.IsNullOrEmpty(passphrase))
                throw Fail.Argument("InvalidEncryptionKey", "The encryption passphrase is empty.");
            return new ContentCipher(null, passphrase);
        }

        public static ContentCipher FromKey(byte[] key)
        {
            if (key == null || key.Length != 32)
                throw Fail.Argument("InvalidEncryptionKey", "An AES-256 key must be exactly 32 bytes.");
            return new ContentCipher((byte[])key.Clone(), null);
        }

        public static byte[] RandomBytes(int n)
        {
            var b = new byte[n];
            using var rng = RandomNumberGenerator.Create();
            rng.GetBytes(b);
            return b;
        }

        public static long EncryptedLength(long plain, int chunkSize = DefaultChunkSize) =>
            HeaderSize + (plain / chunkSize) * (chunkSize + TagSize) + (plain % chunkSize) + TagSize;

        internal byte[] KeyFor(byte kdf, byte[] salt)
        {
            if (kdf == 0)
                return _rawKey ?? throw Fail.InvalidData("CloudDecryptFailed", "The object was encrypted with a raw key, but a passphrase was given.");
            if (_passphrase == null)
                throw Fail.InvalidData("CloudDecryptFailed", "The object was encrypted with a passphrase, but a raw key was given.");
            return _derived.GetOrAdd(Convert.ToBase64String(salt), _ =>
            {
#if NET
                return Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(_passphrase), salt, Pbkdf2Iterations, HashAlgorithmName.SHA256, 32);
#else
                using var kdfAlg = new Rfc2898DeriveBytes(Encoding.UTF8.GetBytes(_passphrase), salt, Pbkdf2Iterations, HashAlgorithmName.SHA256);
                return kdfAlg.GetBytes(32);
#endif
            });
        }

        internal byte KdfId => _rawKey != null ? (byte)0 : (byte)1;

        internal byte[] BuildHeader(byte[] salt, byte[] noncePrefix, int chunkSize)
        {
            var h = new byte[HeaderSize];
            Encoding.ASCII.GetBytes("NKC1").CopyTo(h, 0);
            h[4] = KdfId;
            BitConverterLE(chunkSize, h, 8);
            Buffer.BlockCopy(salt, 0, h, 12, 16);
            Buffer.BlockCopy(noncePrefix, 0, h, 28, 8);
            return h;
        }

        private static void BitConverterLE(int v, byte[] b, int o)
        {
            unchecked { b[o] = (byte)v; b[o + 1] = (byte)(v >> 8); b[o + 2] = (byte)(v >> 16); b[o + 3] = (byte)(v >> 24); }
        }

        /// <summary>Encrypts a plaintext stream (read-only, forward-only). Same salt+nonce+plaintext ⇒ same bytes, so an upload can resume.</summary>
        public Stream Encrypt(Stream plain, byte[] salt, byte[] noncePrefix, int chunkSize = DefaultChunkSize) =>
            new CipherStream(this, plain, encrypt: true, salt, noncePrefix, chunkSize);

        public Stream Decrypt(Stream cipher) => new CipherStream(this, cipher, encrypt: false, null, null, 0);

        internal static byte[] Nonce(byte[] prefix, uint index) => unchecked(
            new byte[] { prefix[0], prefix[1], prefix[2], prefix[3], prefix[4], prefix[5], prefix[6], prefix[7],
                (byte)(index >> 24), (byte)(index >> 16), (byte)(index >> 8), (byte)index });

        internal static byte[] Aad(byte[] header, bool final)
        {
            var a = new byte[header.Length + 1];
            Buffer.BlockCopy(header, 0, a, 0, header.Length);
            a[header.Length] = final ? (byte)1 : (byte)0;
            return a;
        }

        /// <summary>Seal: output = ciphertext | tag.</summary>
        internal static void Seal(byte[] key, byte[] nonce, byte[] aad, byte[] plain, int plainLen, byte[] output)
        {
#if NET
            using var gcm = new AesGcm(key, TagSize);
            gcm.Encrypt(nonce, plain.AsSpan(0, plainLen), output.AsSpan(0, plainLen), output.AsSpan(plainLen, TagSize), aad);
#else
            var c = new Org.BouncyCastle.Crypto.Modes.GcmBlockCipher(new Org.BouncyCastle.Crypto.Engines.AesEngine());
            c.Init(true, new Org.BouncyCastle.Crypto.Parameters.AeadParameters(new Org.BouncyCastle.Crypto.Parameters.KeyParameter(key), TagSize * 8, nonce, aad));
            int n = c.ProcessBytes(plain, 0, plainLen, output, 0);
            c.DoFinal(output, n);
#endif
        }

        /// <summary>Open: input = ciphertext | tag; returns plaintext length or throws on a bad tag.</summary>
        internal static int Open(byte[] key, byte[] nonce, byte[] aad, byte[] input, int inputLen, byte[] plain)
        {
            int len = inputLen - TagSize;
            if (len < 0) throw Fail.InvalidData("CloudDecryptFailed", "Encrypted frame is truncated.");
            try
            {
#if NET
                using var gcm = new AesGcm(key, TagSize);
                gcm.Decrypt(nonce, input.AsSpan(0, len), input.AsSpan(len, TagSize), plain.AsSpan(0, len), aad);
#else
                var c = new Org.BouncyCastle.Crypto.Modes.GcmBlockCipher(new Org.BouncyCastle.Crypto.Engines.AesEngine());
                c.Init(false, new Org.BouncyCastle.Crypto.Parameters.AeadParameters(new Org.BouncyCastle.Crypto.Parameters.KeyParameter(key), TagSize * 8, nonce, aad));
                int n = c.ProcessBytes(input, 0, inputLen, plain, 0);
                c.DoFinal(plain, n);
#endif
                return len;
            }
            catch (Exception ex) when (ex is CryptographicException || ex.GetType().Name.Contains("InvalidCipherText"))
            {
                throw Fail.InvalidData("CloudDecryptFailed", "Decryption failed: wrong key or the object was altered.", null, ex);
            }
        }

        private sealed class CipherStream : Stream
        {
            private readonly ContentCipher _owner;
            private readonly Stream _inner;
            private readonly bool _encrypt;
            private byte[]? _header;
            private byte[]? _key;
            private byte[]? _noncePrefix;
            private int _chunk;
            private byte[] _in = Array.Empty<byte>();
            private byte[] _out = Array.Empty<byte>();
            private int _outPos, _outLen;
            private uint _index;
            private bool _headerSent, _done;

            public CipherStream(ContentCipher owner, Stream inner, bool encrypt, byte[]? salt, byte[]? noncePrefix, int chunk)
            {
                _owner = owner;
                _inner = inner;
                _encrypt = encrypt;
                if (encrypt)
                {
                    _chunk = chunk;
                    _noncePrefix = noncePrefix!;
                    _header = owner.BuildHeader(salt!, noncePrefix!, chunk);
                    _key = owner.KeyFor(owner.KdfId, salt!);
                    _in = new byte[chunk];
                    _out = new byte[Math.Max(chunk + TagSize, HeaderSize)];
                }
            }

            public override bool CanRead => true;
            public override bool CanSeek => false;
            public override bool CanWrite => false;
            public override long Length => throw new NotSupportedException();
            public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
            public override void Flush() { }
            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
            public override void SetLength(long value) => throw new NotSupportedException();
            public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

            private int ReadFully(byte[] b, int count)
            {
                int got = 0;
                while (got < count)
                {
                    int n = _inner.Read(b, got, count - got);
                    if (n == 0) break;
                    got += n;
                }
                return got;
            }

            private void Fill()
            {
                _outPos = 0;
                _outLen = 0;
                if (_done) return;
                if (_encrypt)
                {
                    if (!_headerSent)
                    {
                        Buffer.BlockCopy(_header!, 0, _out, 0, HeaderSize);
                        _outLen = HeaderSize;
                        _headerSent = true;
                        return;
                    }
                    int n = ReadFully(_in, _chunk);
                    bool final = n < _chunk;
                    Seal(_key!, Nonce(_noncePrefix!, _index++), Aad(_header!, final), _in, n, _out);
                    _outLen = n + TagSize;
                    if (final) _done = true;
                }
                else
                {
                    if (_header == null)
                    {
                        var h = new byte[HeaderSize];
                        if (ReadFully(h, HeaderSize) != HeaderSize || Encoding.ASCII.GetString(h, 0, 4) != "NKC1")
                            throw Fail.InvalidData("CloudDecryptFailed", "The object is not NekkBackup-encrypted (bad header).");
                        _header = h;
                        _chunk = h[8] | (h[9] << 8) | (h[10] << 16) | (h[11] << 24);
                        if (_chunk <= 0 || _chunk > 64 * 1024 * 1024) throw Fail.InvalidData("CloudDecryptFailed", "Bad chunk size in the encryption header.");
                        var salt = new byte[16];
                        Buffer.BlockCopy(h, 12, salt, 0, 16);
                        _noncePrefix = new byte[8];
                        Buffer.BlockCopy(h, 28, _noncePrefix, 0, 8);
                        _key = _owner.KeyFor(h[4], salt);
                        _in = new byte[_chunk + TagSize];
                        _out = new byte[_chunk];
                    }
                    int n = ReadFully(_in, _chunk + TagSize);
                    bool final = n < _chunk + TagSize;
                    _outLen = Open(_key!, Nonce(_noncePrefix!, _index++), Aad(_header, final), _in, n, _out);
                    if (final) _done = true;
                }
            }

            public override int Read(byte[] buffer, int offset, int count)
            {
                while (_outPos == _outLen)
                {
                    if (_done) return 0;
                    Fill();
                }
                int n = Math.Min(count, _outLen - _outPos);
                Buffer.BlockCopy(_out, _outPos, buffer, offset, n);
                _outPos += n;
                return n;
            }

            protected override void Dispose(bool disposing)
            {
                if (disposing) _inner.Dispose();
                base.Dispose(disposing);
            }
        }
    }
}
