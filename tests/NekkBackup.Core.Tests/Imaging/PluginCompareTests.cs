using System;
using System.IO;
using System.Linq;
using NekkBackup.Core.Imaging;
using NekkBackup.Core.Tests.TestKit;
using Xunit;
using static NekkBackup.Core.Tests.Imaging.GhostTestSupport;

namespace NekkBackup.Core.Tests.Imaging
{
    /// <summary>Compare-NekkPluginInventory over fixture folders: a plugin removed, one added, one updated, and the licence tools.</summary>
    public sealed class PluginCompareTests
    {
        internal static void Vst3(string folder, string name, string version, string vendor)
        {
            var dir = Path.Combine(folder, name + ".vst3", "Contents");
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, "moduleinfo.json"), $"{{ \"Name\": \"{name}\", \"Version\": \"{version}\", \"Factory Info\": {{ \"Vendor\": \"{vendor}\", }}, }}");
        }

        internal static void MacApp(string root, string app, string version)
        {
            var dir = Path.Combine(root, "Applications", app + ".app", "Contents");
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, "Info.plist"),
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><plist version=\"1.0\"><dict><key>CFBundleName</key><string>" + app +
                "</string><key>CFBundleShortVersionString</key><string>" + version + "</string></dict></plist>");
        }

        [Fact]
        public void Compare_FindsAMissingAnExtraAndAChangedPlugin_AndLicenceTools_InFixtureFolders()
        {
            using var tmp = new TempDir("plugcmp");
            var vst3 = Path.Combine(tmp.Path, "machine", "VST3");
            var clap = Path.Combine(tmp.Path, "machine", "CLAP");
            var tools = Path.Combine(tmp.Path, "machine", "root");
            Vst3(vst3, "Pro-Q 3", "3.21", "FabFilter");
            Vst3(vst3, "Valhalla Room", "1.6.2", "Valhalla DSP");
            Vst3(vst3, "Soothe2", "1.3.0", "oeksound");
            Directory.CreateDirectory(clap);
            File.WriteAllText(Path.Combine(clap, "Surge XT.clap"), "clap");
            MacApp(tools, "iLok License Manager", "5.6.1");
            var progFiles = Path.Combine(tools, "Program Files", "Waves Central");
            Directory.CreateDirectory(progFiles);
            File.WriteAllText(Path.Combine(progFiles, "Waves Central.exe"), "MZ");

            var vol = Path.Combine(tmp.Path, "vol.img");
            var repo = Path.Combine(tmp.Path, "repo");
            WriteVolumeFile(vol, 1L << 20, 1);
            var img = GhostRepository.CaptureAsync(new GhostCaptureOptions { Source = vol, Repository = repo, PluginPaths = new[] { vst3, clap }, ToolRoot = tools }, null, default).GetAwaiter().GetResult();

            // The machine changes after the image: Valhalla removed, Soothe2 updated, Kontakt added, iLok updated, Waves removed.
            Directory.Delete(Path.Combine(vst3, "Valhalla Room.vst3"), true);
            Vst3(vst3, "Soothe2", "1.4.1", "oeksound");
            Vst3(vst3, "Kontakt 8", "8.2.0", "Native Instruments");
            MacApp(tools, "iLok License Manager", "5.7.0");
            Directory.Delete(progFiles, true);

            var rows = PluginInventoryComparer.Compare(repo, img.ImageId, null, new[] { vst3, clap }, tools);
            string Row(string kind, string name) { var r = Assert.Single(rows, x => x.Kind == kind && x.Name == name); return $"{r.Status} {r.ImageVersion}->{r.OtherVersion}"; }
            Assert.Equal("Missing 1.6.2->", Row("VST3", "Valhalla Room"));
            Assert.Equal("Extra ->8.2.0", Row("VST3", "Kontakt 8"));
            Assert.Equal("Different 1.3.0->1.4.1", Row("VST3", "Soothe2"));
            Assert.Equal("Same 3.21->3.21", Row("VST3", "Pro-Q 3"));
            Assert.Equal("Same ->", Row("CLAP", "Surge XT"));
            Assert.Equal("Different 5.6.1->5.7.0", Row(PluginInventoryComparer.ToolKind, "iLok License Manager"));
            Assert.Equal("Missing ->", Row(PluginInventoryComparer.ToolKind, "Waves Central"));
            Assert.Equal("Valhalla DSP", rows.Single(r => r.Name == "Valhalla Room").Vendor);
            Assert.Equal(new[] { "Missing", "Different", "Extra", "Same" }, rows.Select(r => r.Status).Distinct());
            Assert.Equal(7, rows.Count);
            Assert.All(rows, r => Assert.Equal(img.ImageId, r.ImageId));
            Assert.All(rows, r => Assert.StartsWith("this machine", r.Other));
        }

        [Fact]
        public void Compare_TwoImages_AndTheToolRootFromTheEnvironment()
        {
            using var tmp = new TempDir("plugcmp2");
            var vst3 = Path.Combine(tmp.Path, "VST3");
            var root = Path.Combine(tmp.Path, "root");
            Vst3(vst3, "Pro-Q 3", "3.21", "FabFilter");
            MacApp(root, "Native Access", "3.10.0");
            var vol = Path.Combine(tmp.Path, "vol.img");
            var repo = Path.Combine(tmp.Path, "repo");
            WriteVolumeFile(vol, 1L << 20, 2);
            var before = Environment.GetEnvironmentVariable(PluginScanner.ToolRootVariable);
            try
            {
                Environment.SetEnvironmentVariable(PluginScanner.ToolRootVariable, root);
                var older = GhostRepository.CaptureAsync(new GhostCaptureOptions { Source = vol, Repository = repo, PluginPaths = new[] { vst3 } }, null, default).GetAwaiter().GetResult();
                Vst3(vst3, "Pro-Q 3", "3.22", "FabFilter");
                MacApp(root, "Native Access", "3.11.0");
                Vst3(vst3, "Ozone 11", "11.0", "iZotope");
                var newer = GhostRepository.CaptureAsync(new GhostCaptureOptions { Source = vol, Repository = repo, PluginPaths = new[] { vst3 } }, null, default).GetAwaiter().GetResult();
                var rows = PluginInventoryComparer.Compare(repo, newer.ImageId, older.ImageId);
                Assert.Equal(new[] { "Missing VST3 Ozone 11", "Different AuthorizationTool Native Access", "Different VST3 Pro-Q 3" },
                    rows.Select(r => $"{r.Status} {r.Kind} {r.Name}"));
                Assert.Equal(("3.11.0", "3.10.0"), (rows[1].ImageVersion, rows[1].OtherVersion));
                Assert.All(rows, r => Assert.Equal(older.ImageId, r.Other));
            }
            finally
            {
                Environment.SetEnvironmentVariable(PluginScanner.ToolRootVariable, before);
            }
        }
    }
}
