using System;
using System.Collections.Generic;
using System.Linq;
using static NekkBackup.SampleData.StudioContent;

namespace NekkBackup.SampleData
{
    public sealed record PlannedFile(string RelativePath, FileKind Kind, long Size);

    /// <summary>
    /// The deterministic list of files of a studio tree of a given size: ~70 % of the bytes in 2-40 MB takes,
    /// ~20 % in 0.2-2 MB fades, bounces, stems, renders, impulse responses and plugin binaries, ~10 % in 1-64 KB
    /// sessions, presets, settings, logs, peak files and notes; plus the awkward ones (a sparse scratch volume,
    /// zero-byte files, a relative path over 260 characters, unicode/emoji/space names).
    /// </summary>
    public sealed class StudioPlan
    {
        public const long LargeMin = 2 * MiB, LargeMax = 40 * MiB;
        public const long MediumMin = 200 * KiB, MediumMax = 2 * MiB;
        public const long SmallMin = 1 * KiB, SmallMax = 64 * KiB;

        private readonly List<PlannedFile> _files = new();
        private readonly HashSet<string> _used = new(StringComparer.Ordinal);

        public IReadOnlyList<PlannedFile> Files => _files;
        public IReadOnlyList<string> Songs { get; }

        public static string SizeClass(long size) => size >= LargeMin ? "large" : size >= MediumMin ? "medium" : "small";

        public StudioPlan(int seed, int sizeMb)
        {
            if (sizeMb <= 0) throw new ArgumentOutOfRangeException(nameof(sizeMb), "SIZE_MB must be a positive integer");
            long total = (long)sizeMb * MiB;
            var rng = new DetRandom("plan", seed, total);
            long large = total * 70 / 100, medium = total * 20 / 100, small = total - large - medium;

            var songCount = (int)Math.Max(2, Math.Min(StudioNames.Artists.Length * StudioNames.Songs.Length, Math.Max(1, large / (21 * MiB)) / 4 + 1));
            Songs = Enumerable.Range(0, songCount).Select(i =>
                $"Sessions/{StudioNames.Artists[i % StudioNames.Artists.Length]}/{StudioNames.Songs[(i * 7 + i / StudioNames.Artists.Length) % StudioNames.Songs.Length]}").ToArray();
            string s0 = Songs[0], s1 = Songs[1];

            // The awkward files first.
            var sparse = Math.Min(32L * MiB, Math.Max(1L * MiB, total / 50));
            Add("Backups/Scratch Disk/scratch-volume.img", FileKind.Sparse, sparse);
            large -= sparse;
            foreach (var rel in new[] { $"{s0}/Audio Files/.keep", $"{s1}/Bounced Files/.keep", "Plugins/.installed", "Presets/User/Empty Preset.fxp", "Logs/engine-today.log" })
                Add(rel, FileKind.Empty, 0);
            var deep = string.Join("/", s0, "Archive",
                "Old Projects migrated from the previous studio computer (2015-2019)",
                "Client Revisions and Alternate Mixes requested by the label",
                "Stems for the remix contest – keep until the contest closes",
                "Version 7 final FINAL really final this time I promise",
                "Lead Vocal Comp (tuned, de-essed, breaths removed) v7.wav");
            var deepSize = Math.Min(MediumMin + rng.Range(0, 100 * KiB), medium);
            Add(deep, FileKind.Wav, deepSize);
            medium -= deepSize;
            foreach (var (rel, kind) in new[]
            {
                ("Sessions/Ideas/🎸 Guitar Ideas – voice memo.txt", FileKind.Notes),
                ("Sessions/Ideas/Überlegungen zum Mix.md", FileKind.Notes),
                ("Sessions/Ideas/メモ 2024.txt", FileKind.Notes),
                ("Presets/Drums/Snare – Fat & Wet (Maya's).fxp", FileKind.PresetBinary),
            })
            {
                var size = rng.Range(2 * KiB, 16 * KiB);
                Add(rel, kind, size);
                small -= size;
            }
            // Each song's current session file (the backups of older versions come with the small files).
            foreach (var song in Songs.Take(8))
            {
                var size = rng.Range(8 * KiB, 48 * KiB);
                if (small < size + SmallMin) break;
                Add($"{song}/{Leaf(song)}{rng.Pick(StudioNames.SmallKinds[3].Extensions)}", FileKind.Session, size);
                small -= size;
            }

            // Large: multitrack takes.
            for (var i = 0; large >= LargeMin || (i == 0 && large > 0); i++)
            {
                var size = Math.Min(rng.Range(LargeMin, LargeMax), large);
                if (large - size < LargeMin) size = large;
                var song = i < Songs.Count ? Songs[i] : rng.Pick(Songs);
                Add($"{song}/Audio Files/{rng.Pick(StudioNames.Tracks)}_{rng.Range(1, 24):D2}.wav", FileKind.Wav, size);
                large -= size;
            }

            // Medium: fades, bounces, stems, prints, impulse responses, plugin binaries.
            while (medium >= MediumMin)
            {
                var size = Math.Min(rng.Range(MediumMin, MediumMax), medium);
                if (medium - size < MediumMin) size = medium;
                var r = rng.Next(100);
                var song = rng.Pick(Songs);
                if (r < 25) Add($"{song}/Fade Files/Fade {rng.NextU64() & 0xffffffff:x8}.wav", FileKind.Wav, size);
                else if (r < 45) Add($"{song}/Bounced Files/{Leaf(song)} mix v{rng.Range(1, 9)}.mp3", FileKind.Mp3, size);
                else if (r < 60) Add($"{song}/Bounced Files/Stems/{Leaf(song)} – {rng.Pick(StudioNames.Tracks)} stem.wav", FileKind.Wav, size);
                else if (r < 75) Add($"{song}/Rendered Files/{rng.Pick(StudioNames.Tracks)} print {rng.Range(1, 9)}.wav", FileKind.Wav, size);
                else if (r < 88) Add($"Presets/Impulse Responses/{rng.Pick(StudioNames.Rooms)} Hall {rng.Range(1, 99)}.wav", FileKind.Wav, size);
                else
                {
                    var (vendor, products) = rng.Pick(StudioNames.Vendors);
                    var p = rng.Pick(products);
                    Add($"Plugins/{vendor}/{p}.vst3/Contents/x86_64-win/{p} {rng.Range(1, 9)}.vst3", FileKind.PluginBinary, size);
                }
                medium -= size;
            }

            // Small: session backups, peak files, presets, plugin settings, ini files, logs, notes.
            var weightTotal = StudioNames.SmallKinds.Sum(k => k.Weight);
            while (small >= SmallMin)
            {
                var size = Math.Min(rng.LogUniform(SmallMin, SmallMax), small);
                var pick = PickWeighted(rng, weightTotal);
                var ext = rng.Pick(pick.Extensions);
                var tag = (rng.NextU64() & 0xffffff).ToString("x6");
                string rel;
                switch (pick.Kind)
                {
                    case FileKind.Session:
                        var song = rng.Pick(Songs);
                        rel = $"{song}/Session File Backups/{Leaf(song)}.bak.{tag}{ext}";
                        break;
                    case FileKind.Peaks:
                        rel = $"{rng.Pick(Songs)}/WaveCache/{tag}{ext}";
                        break;
                    case FileKind.PresetBinary:
                        if (rng.Chance(500))
                        {
                            var (vendor, products) = rng.Pick(StudioNames.Vendors);
                            rel = $"Plugins/{vendor}/{rng.Pick(products)}/Presets/{StudioNames.Capitalize(rng.Pick(StudioNames.Words))} {tag}{ext}";
                        }
                        else rel = $"Presets/{rng.Pick(StudioNames.PresetCategories)}/{StudioNames.Capitalize(rng.Pick(StudioNames.Words))} {tag}{ext}";
                        break;
                    case FileKind.Xml:
                        var (v, ps) = rng.Pick(StudioNames.Vendors);
                        rel = $"Plugins/{v}/{rng.Pick(ps)}/Settings/{tag}{ext}";
                        break;
                    case FileKind.Ini:
                        rel = $"Settings/{rng.Pick(StudioNames.Vendors).Vendor}/{tag}{ext}";
                        break;
                    case FileKind.Log:
                        rel = $"Logs/{2020 + rng.Range(0, 4):D4}/engine-{tag}{ext}";
                        break;
                    default:
                        rel = $"{rng.Pick(Songs)}/Notes/{tag}{ext}";
                        break;
                }
                Add(rel, pick.Kind, size);
                small -= size;
            }
        }

        private static (int Weight, FileKind Kind, string[] Extensions) PickWeighted(DetRandom rng, int weightTotal)
        {
            var x = rng.Next(weightTotal);
            foreach (var k in StudioNames.SmallKinds)
            {
                if (x < k.Weight) return k;
                x -= k.Weight;
            }
            throw new InvalidOperationException("weights do not add up");
        }

        private static string Leaf(string path) => path.Substring(path.LastIndexOf('/') + 1);

        /// <summary>Adds a file, renaming "x (2).ext" on a clash that a case-insensitive file system (NTFS, SMB) would see.</summary>
        private void Add(string rel, FileKind kind, long size)
        {
            var dot = rel.LastIndexOf('.');
            var slash = rel.LastIndexOf('/');
            string stem = dot > slash + 1 ? rel.Substring(0, dot) : rel, ext = dot > slash + 1 ? rel.Substring(dot) : "";
            for (var k = 2; !_used.Add(rel.ToLowerInvariant()); k++) rel = $"{stem} ({k}){ext}";
            _files.Add(new PlannedFile(rel, kind, size));
        }
    }
}
