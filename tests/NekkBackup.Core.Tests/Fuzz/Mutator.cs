using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace NekkBackup.Core.Tests.Fuzz
{
    /// <summary>
    /// Structure-aware mutations of what a store holds: JSON-aware (a field removed, nulled, retyped, given a hostile
    /// string or an extreme number, an array repeated or holed), byte-level (bit flips, truncation, garbage, zeroing)
    /// and filesystem swaps (a FIFO, folder, device, dangling or self-referencing link, or a link out of the sandbox
    /// where a file or folder belongs). Every choice comes from the trial's seeded RNG and is described in
    /// <see cref="TrialContext.Notes"/>, so a failure can be replayed.
    /// </summary>
    internal sealed class Mutator
    {
        private readonly TrialContext _t;

        public Mutator(TrialContext t) => _t = t;

        private Random Rng => _t.Rng;

        private T Pick<T>(IReadOnlyList<T> items) => items[Rng.Next(items.Count)];

        private void Note(string s) => _t.Notes.Add(s);

        /// <summary>Strings a hostile store puts where a name, id, path or hash belongs (sandbox-relative, never past it).</summary>
        public string HostileString(string original)
        {
            var o = original ?? "";
            var options = new[]
            {
                "", " ", ".", "..", "../..", "../../../../outside/pwn", "../../../../../../outside/pwn", "/../../../../outside/pwn-drill",
                Path.Combine(_t.Outside, "pwn"), _t.Outside, Path.Combine(_t.Outside, "bait.txt"), "/dev/zero", "/dev/null", "/proc/self/fd/0",
                o + "/../../../../outside/pwn", "../" + o, o + "\0", "a\0b", o.ToUpperInvariant(), o + " ", o + ".", " " + o,
                "CON", "NUL.json", "aux", "x:y", "C:\\Windows\\pwn", "\\\\server\\share\\pwn", "..\\..\\outside\\pwn", new string('a', 5000),
                "é/ü", "\u202etxt.exe", "line\nbreak", "sub/dir", "./" + o, o + "/", "//" + o,
                new string('0', 64), new string('g', 64), o.Length > 2 ? o.Substring(0, o.Length / 2) : "ab", "%2e%2e/%2e%2e/outside",
            };
            return Pick(options);
        }

        private static readonly double[] Numbers =
        {
            -1, 0, 1, 2, 4095, 4096, 65536, int.MaxValue, (double)int.MaxValue + 1, -2147483649, 9007199254740993, 1e18, 9.3e18, -9.3e18, 1e308, -0.5, 0.5, 3.14,
        };

        // ------------------------------------------------------------------ JSON

        public byte[] MutateJson(byte[] original, int maxOps = 3)
        {
            JsonNode? root;
            try { root = JsonNode.Parse(original); }
            catch (JsonException) { return MutateBytes(original); }
            if (root == null) return MutateBytes(original);
            int ops = 1 + Rng.Next(maxOps);
            try
            {
                for (int i = 0; i < ops && root != null; i++) root = MutateNode(root);
            }
            catch (InvalidOperationException)
            {
                return MutateBytes(original); // text that is not valid UTF-8 (an earlier byte flip): damage it further as bytes
            }
            var text = root?.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) ?? "null";
            if (Rng.Next(10) == 0)
            {
                // Text-level damage on top: truncated, a brace lost, a trailing comma.
                int cut = Rng.Next(text.Length + 1);
                text = Rng.Next(3) switch { 0 => text.Substring(0, cut), 1 => text.Remove(Math.Min(cut, text.Length - 1), 1), _ => text.Insert(cut, ",") };
                Note("json text damaged at " + cut);
            }
            return Encoding.UTF8.GetBytes(text);
        }

        private sealed class Slot
        {
            public JsonNode? Parent;
            public string? Property;
            public int Index = -1;
            public JsonNode? Node;
            public string Where = "$";
        }

        private static void Collect(JsonNode? node, Slot slot, List<Slot> all)
        {
            all.Add(slot);
            if (node is JsonObject o)
                foreach (var kv in o.ToList()) Collect(kv.Value, new Slot { Parent = o, Property = kv.Key, Node = kv.Value, Where = slot.Where + "." + kv.Key }, all);
            else if (node is JsonArray a)
                for (int i = 0; i < a.Count; i++) Collect(a[i], new Slot { Parent = a, Index = i, Node = a[i], Where = slot.Where + "[" + i + "]" }, all);
        }

        private JsonNode? MutateNode(JsonNode root)
        {
            var all = new List<Slot>();
            Collect(root, new Slot { Node = root }, all);
            // Prefer leaves and named fields: that is where ids, hashes, paths and sizes live.
            var s = Rng.Next(4) == 0 ? Pick(all) : Pick(all.Where(x => x.Parent != null).DefaultIfEmpty(all[0]).ToList());
            JsonNode? replacement;
            string what;
            int op = Rng.Next(10);
            if (s.Node is JsonArray arr && op < 4 && arr.Count > 0)
            {
                switch (Rng.Next(5))
                {
                    case 0:
                        int n = Rng.Next(8) == 0 ? 30000 : 1 + Rng.Next(1000);
                        var e = arr[Rng.Next(arr.Count)];
                        for (int i = 0; i < n; i++) arr.Add(e?.DeepClone());
                        Note($"{s.Where}: one element repeated {n} times");
                        return root;
                    case 1:
                        arr.Insert(Rng.Next(arr.Count + 1), null);
                        Note($"{s.Where}: null inserted");
                        return root;
                    case 2:
                        arr.Clear();
                        Note($"{s.Where}: emptied");
                        return root;
                    case 3:
                        var copy = arr.Select(x => x?.DeepClone()).OrderBy(_ => Rng.Next()).ToList();
                        arr.Clear();
                        foreach (var x in copy) arr.Add(x);
                        Note($"{s.Where}: shuffled");
                        return root;
                    default:
                        arr.RemoveAt(Rng.Next(arr.Count));
                        Note($"{s.Where}: one element removed");
                        return root;
                }
            }
            switch (op)
            {
                case 0:
                    if (s.Parent is JsonObject po && s.Property != null) { po.Remove(s.Property); Note($"{s.Where}: removed"); return root; }
                    if (s.Parent is JsonArray pa && s.Index >= 0) { pa.RemoveAt(s.Index); Note($"{s.Where}: removed"); return root; }
                    replacement = null; what = "null";
                    break;
                case 1:
                    replacement = null; what = "null";
                    break;
                case 2:
                    (replacement, what) = Rng.Next(5) switch
                    {
                        0 => ((JsonNode?)JsonValue.Create(Pick(Numbers)), "a number"),
                        1 => (JsonValue.Create(Rng.Next(2) == 0), "a bool"),
                        2 => (new JsonArray(), "an array"),
                        3 => (new JsonObject(), "an object"),
                        _ => (JsonValue.Create(s.Node?.ToJsonString() ?? "x"), "a string"),
                    };
                    break;
                case 3:
                case 4:
                case 5:
                    var orig = s.Node is JsonValue v && v.TryGetValue<string>(out var str) ? str : s.Node?.ToJsonString() ?? "";
                    var h = HostileString(orig);
                    replacement = JsonValue.Create(h);
                    what = "hostile string " + Describe(h);
                    break;
                case 6:
                case 7:
                    var num = Pick(Numbers);
                    replacement = num == Math.Floor(num) && Math.Abs(num) < 9.2e18 ? JsonValue.Create((long)num) : JsonValue.Create(num);
                    what = "number " + num;
                    break;
                case 8:
                    // A value from elsewhere in the document (another entry's hash, path or id).
                    var other = Pick(all).Node;
                    replacement = other?.DeepClone();
                    what = "value from elsewhere " + Describe(other?.ToJsonString() ?? "null");
                    break;
                default:
                    if (s.Node is JsonObject obj)
                    {
                        obj["__nekk_extra" + Rng.Next(100)] = JsonValue.Create(HostileString("extra"));
                        Note($"{s.Where}: unknown property added");
                        return root;
                    }
                    replacement = JsonValue.Create(HostileString(""));
                    what = "hostile string";
                    break;
            }
            Note($"{s.Where}: set to {what}");
            if (s.Parent is JsonObject p1 && s.Property != null) { p1[s.Property] = replacement; return root; }
            if (s.Parent is JsonArray p2 && s.Index >= 0) { p2[s.Index] = replacement; return root; }
            return replacement ?? JsonValue.Create(0);
        }

        private static string Describe(string s) => "'" + (s.Length > 40 ? s.Substring(0, 40) + "…" : s).Replace("\0", "\\0").Replace("\n", "\\n") + "'";

        /// <summary>JSON lines: one random line mutated as JSON (or the whole file as bytes).</summary>
        public byte[] MutateJsonLines(byte[] original)
        {
            var lines = Encoding.UTF8.GetString(original).Split('\n').ToList();
            var idx = Enumerable.Range(0, lines.Count).Where(i => lines[i].Length > 0).ToList();
            if (idx.Count == 0 || Rng.Next(5) == 0) return MutateBytes(original);
            int li = Pick(idx);
            _t.Notes.Add($"line {li}:");
            lines[li] = Encoding.UTF8.GetString(MutateJson(Encoding.UTF8.GetBytes(lines[li]))).Replace("\n", "\\n");
            if (Rng.Next(6) == 0) { int n = 1 + Rng.Next(2000); for (int i = 0; i < n; i++) lines.Insert(li, lines[li]); Note($"line {li} repeated {n} times"); }
            return Encoding.UTF8.GetBytes(string.Join("\n", lines));
        }

        // ------------------------------------------------------------------ bytes

        public byte[] MutateBytes(byte[] data)
        {
            var b = data.ToList();
            int op = Rng.Next(8);
            switch (op)
            {
                case 0:
                case 1:
                    int flips = 1 + Rng.Next(8);
                    for (int i = 0; i < flips && b.Count > 0; i++) { int at = Rng.Next(b.Count); b[at] ^= (byte)(1 << Rng.Next(8)); }
                    Note($"bytes: {flips} bit(s) flipped");
                    break;
                case 2:
                    int cut = b.Count == 0 ? 0 : Rng.Next(b.Count);
                    b.RemoveRange(cut, b.Count - cut);
                    Note($"bytes: truncated to {cut}");
                    break;
                case 3:
                    var junk = new byte[1 + Rng.Next(256)];
                    Rng.NextBytes(junk);
                    b.InsertRange(b.Count == 0 ? 0 : Rng.Next(b.Count), junk);
                    Note($"bytes: {junk.Length} random bytes inserted");
                    break;
                case 4:
                    if (b.Count > 0) { int z = Rng.Next(b.Count), len = Math.Min(b.Count - z, 1 + Rng.Next(512)); for (int i = 0; i < len; i++) b[z + i] = 0; Note($"bytes: {len} zeroed at {z}"); }
                    break;
                case 5:
                    b.Clear();
                    Note("bytes: emptied");
                    break;
                case 6:
                    if (b.Count > 0) { int at = Rng.Next(b.Count); b[at] = (byte)Rng.Next(256); Note($"bytes: byte {at} set"); }
                    break;
                default:
                    var tail = new byte[1 + Rng.Next(4096)];
                    Rng.NextBytes(tail);
                    b.AddRange(tail);
                    Note($"bytes: {tail.Length} garbage bytes appended");
                    break;
            }
            return b.ToArray();
        }

        // ------------------------------------------------------------------ filesystem

        /// <summary>Replaces the file at <paramref name="path"/> by something that is not a regular file.</summary>
        public void SwapFile(string path)
        {
            var bait = Path.Combine(_t.Outside, "bait.txt");
            var kinds = new (string Name, Action<string> Make)[]
            {
                ("FIFO", HostileFs.MakeFifo),
                ("folder", p => Directory.CreateDirectory(p)),
                ("folder with a file", p => { Directory.CreateDirectory(p); File.WriteAllText(Path.Combine(p, "x.json"), "{}"); }),
                ("dangling link", HostileFs.MakeDangling),
                ("self link", HostileFs.MakeSelfLink),
                ("link to a file outside", p => HostileFs.MakeFileLink(p, bait)),
                ("link to a folder outside", p => HostileFs.MakeDirLink(p, _t.Outside)),
                ("link to /dev/zero", p => HostileFs.MakeFileLink(p, "/dev/zero")),
                ("character device (zero)", HostileFs.MakeZeroDevice),
                ("relative link out", p => HostileFs.MakeFileLink(p, "../../../../../../outside/bait.txt")),
            };
            var k = Pick(kinds);
            var copy = File.Exists(path) && !Directory.Exists(path) ? SafeRead(path) : null;
            HostileFs.Replace(path, k.Make);
            if (k.Name == "link to a folder outside" && copy != null) File.WriteAllBytes(Path.Combine(_t.Outside, Path.GetFileName(path)), copy);
            Note($"{Rel(path)} replaced by a {k.Name}");
        }

        /// <summary>Replaces a folder of the metadata by a link (out of the sandbox, dangling, to itself) or a file/FIFO.</summary>
        public void SwapDirectory(string dir)
        {
            var outsideCopy = Path.Combine(_t.Outside, "copy-" + Path.GetFileName(dir));
            var kinds = new (string Name, Action<string> Make)[]
            {
                ("link to a copy outside", p => HostileFs.MakeDirLink(p, outsideCopy)),
                ("link to the outside folder", p => HostileFs.MakeDirLink(p, _t.Outside)),
                ("file", p => File.WriteAllText(p, "not a folder")),
                ("FIFO", HostileFs.MakeFifo),
                ("dangling link", HostileFs.MakeDangling),
                ("self link", HostileFs.MakeSelfLink),
            };
            var k = Pick(kinds);
            if (Directory.Exists(dir) && k.Name == "link to a copy outside") FsCopy.Tree(dir, outsideCopy);
            HostileFs.Replace(dir, k.Make);
            Note($"{Rel(dir)}/ replaced by a {k.Name}");
        }

        /// <summary>Rewrites a file with mutated content: JSON-aware, JSON lines or bytes.</summary>
        public void RewriteFile(string path, bool json, bool lines = false)
        {
            var data = SafeRead(path);
            if (data == null) { Note($"{Rel(path)}: not a file, left"); return; }
            var mtime = File.GetLastWriteTimeUtc(path);
            byte[] changed;
            if (json && Rng.Next(5) != 0) changed = lines ? MutateJsonLines(data) : MutateJson(data);
            else changed = MutateBytes(data);
            File.WriteAllBytes(path, changed);
            if (Rng.Next(2) == 0) File.SetLastWriteTimeUtc(path, mtime); // a careful attacker keeps the time
            _t.CatalogMutated = true;
            Note($"{Rel(path)} rewritten");
        }

        /// <summary>One of the usual attacks on <paramref name="path"/>: content (mostly) or a swap.</summary>
        public void Attack(string path, bool json, bool lines = false, int swapPercent = 15)
        {
            if (Rng.Next(100) < swapPercent) SwapFile(path);
            else RewriteFile(path, json, lines);
        }

        private static byte[]? SafeRead(string path)
        {
            if (NekkBackup.Core.Validation.NativeFs.KindOf(path) != NekkBackup.Core.Validation.StoredKind.File) return null;
            var fi = new FileInfo(path);
            return fi.Length > (64 << 20) ? null : File.ReadAllBytes(path);
        }

        private string Rel(string p) => p.StartsWith(_t.Sandbox, StringComparison.Ordinal) ? p.Substring(_t.Sandbox.Length) : p;
    }
}
