using System.Collections.Generic;

namespace NekkBackup.SampleData
{
    /// <summary>The vocabulary of a studio's disk: artists, songs, tracks, plugin vendors, preset words.</summary>
    internal static class StudioNames
    {
        public static readonly string[] Artists =
        {
            "Ana Björnsdóttir", "Los Niños del Sol", "Zoë & the Ümlauts", "東京ナイト",
            "The Night Shift", "Maya O'Connor", "DJ Ñandú", "Brass Monkeys",
            "Kvartett Øst", "Señor Coconut Trio", "Élodie Marchand", "The Static Hum",
        };

        public static readonly string[] Songs =
        {
            "Intro", "Midnight Drive", "Señorita (Demo)", "Ça Va", "Hold On – Alt Take",
            "Track 01", "Für Elise (Cover)", "Ballad #3", "Night & Day", "Blue Hour",
            "Run It Back", "Ghosts", "Sommerregen", "Last Call", "Overture", "Neon",
        };

        public static readonly string[] Tracks =
        {
            "Kick In", "Kick Out", "Snare Top", "Snare Bottom", "OH L", "OH R", "Room",
            "Bass DI", "Bass Amp", "Gtr 1", "Gtr 2", "Keys L", "Keys R", "Lead Vox",
            "BGV 1", "BGV 2", "Synth Pad", "Perc", "Tom 1", "Tom 2", "Acoustic Gtr",
        };

        /// <summary>Vendor → products, in a fixed (ordinal) vendor order.</summary>
        public static readonly (string Vendor, string[] Products)[] Vendors =
        {
            ("FabFilter", new[] { "Pro-Q 3", "Pro-C 2", "Pro-L 2", "Saturn 2" }),
            ("Native Instruments", new[] { "Kontakt 7", "Massive X", "Guitar Rig 7" }),
            ("Soundtoys", new[] { "EchoBoy", "Decapitator", "Little AlterBoy" }),
            ("Valhalla DSP", new[] { "VintageVerb", "Supermassive", "Delay" }),
            ("Waves", new[] { "CLA-76", "SSL E-Channel", "H-Delay" }),
            ("u-he", new[] { "Diva", "Repro-1", "Zebra2" }),
        };

        public static readonly string[] PresetCategories = { "Drums", "Bass", "Vocals", "Guitars", "Mastering", "FX", "Synth Leads", "Pads" };

        public static readonly string[] Rooms = { "Large", "Small", "Plate", "Chamber", "Spring" };

        public static readonly string[] Words = (
            "gain threshold ratio attack release knee makeup mix wet dry frequency " +
            "bandwidth q shelf bell lowcut highcut drive tone output input bypass " +
            "stereo width mono phase latency oversampling preset bank program " +
            "volume pan mute solo send return bus aux insert automation tempo " +
            "bpm meter sample rate buffer device driver asio midi channel note " +
            "velocity controller clip region fade crossfade comp take playlist").Split(' ');

        /// <summary>Small-file kinds with their weights (of 100) and extensions.</summary>
        public static readonly (int Weight, FileKind Kind, string[] Extensions)[] SmallKinds =
        {
            (30, FileKind.PresetBinary, new[] { ".fxp", ".vstpreset", ".nmsv", ".h2p" }),
            (18, FileKind.Xml, new[] { ".xml", ".aupreset", ".preset" }),
            (10, FileKind.Ini, new[] { ".ini", ".cfg" }),
            (14, FileKind.Session, new[] { ".ptx", ".als", ".cpr" }),
            (10, FileKind.Log, new[] { ".log" }),
            (10, FileKind.Peaks, new[] { ".wfm", ".pkf" }),
            (8, FileKind.Notes, new[] { ".txt", ".md" }),
        };

        public static readonly HashSet<string> TextExtensions = new() { ".xml", ".aupreset", ".preset", ".ini", ".cfg", ".log", ".txt", ".md" };

        public static string Capitalize(string w) => w.Length == 0 ? w : char.ToUpperInvariant(w[0]) + w.Substring(1);
    }
}
