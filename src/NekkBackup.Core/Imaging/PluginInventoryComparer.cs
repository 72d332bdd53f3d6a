using System;
using System.Collections.Generic;
using System.Linq;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Imaging
{
    /// <summary>
    /// Compare-NekkPluginInventory: what an image's plugin/licence inventory (recorded at capture) has that this
    /// machine's scan, or another image's inventory, lacks — before restoring to new hardware. Plugins match by
    /// format and name, licence tools by name (case-insensitive); a plugin installed twice counts once with its
    /// versions joined.
    /// </summary>
    public static class PluginInventoryComparer
    {
        public const string ToolKind = "AuthorizationTool";
        private static readonly string[] Order = { "Missing", "Different", "Extra", "Same" };

        /// <summary>Compares image <paramref name="imageId"/> with <paramref name="referenceImageId"/>, or with a scan of this machine.</summary>
        public static IReadOnlyList<PluginComparison> Compare(string repository, string imageId, string? referenceImageId,
            IReadOnlyList<string>? pluginPaths = null, string? toolRoot = null)
        {
            var image = InventoryOf(repository, imageId);
            PluginInventory other;
            string label;
            if (referenceImageId != null)
            {
                other = InventoryOf(repository, referenceImageId);
                label = referenceImageId;
            }
            else
            {
                other = PluginScanner.Scan(pluginPaths, toolRoot);
                label = $"this machine ({OperatingSystemInfo.HostName})";
            }
            return Compare(image, other, imageId, label);
        }

        private static PluginInventory InventoryOf(string repository, string imageId) =>
            GhostRepository.GetPluginInventory(repository, imageId)
            ?? throw Fail.NotFound("PluginInventoryMissing", $"Image '{imageId}' was captured without a plugin inventory; nothing to compare.", imageId);

        public static IReadOnlyList<PluginComparison> Compare(PluginInventory image, PluginInventory other, string imageId, string otherLabel)
        {
            var a = Items(image);
            var b = Items(other);
            var rows = new List<PluginComparison>();
            foreach (var key in a.Keys.Union(b.Keys, StringComparer.OrdinalIgnoreCase))
            {
                a.TryGetValue(key, out var x);
                b.TryGetValue(key, out var y);
                string status = x == null ? "Extra" : y == null ? "Missing"
                    : string.Equals(x.Version ?? "", y.Version ?? "", StringComparison.OrdinalIgnoreCase) ? "Same" : "Different";
                var any = x ?? y!;
                rows.Add(new PluginComparison
                {
                    Kind = any.Kind, Name = any.Name, Vendor = x?.Vendor ?? y?.Vendor, ImageVersion = x?.Version, OtherVersion = y?.Version,
                    Status = status, ImageId = imageId, Other = otherLabel, ImagePath = x?.Path, OtherPath = y?.Path,
                });
            }
            return rows.OrderBy(r => Array.IndexOf(Order, r.Status)).ThenBy(r => r.Kind, StringComparer.OrdinalIgnoreCase)
                .ThenBy(r => r.Name, StringComparer.OrdinalIgnoreCase).ToList();
        }

        private sealed class Item
        {
            public string Kind = "", Name = "";
            public string? Vendor, Version, Path;
        }

        private static Dictionary<string, Item> Items(PluginInventory inv)
        {
            var map = new Dictionary<string, Item>(StringComparer.OrdinalIgnoreCase);
            void Add(string kind, string name, string? vendor, string? version, string? path)
            {
                if (string.IsNullOrWhiteSpace(name)) return;
                var key = kind + "\n" + name.Trim();
                if (!map.TryGetValue(key, out var it))
                {
                    map[key] = new Item { Kind = kind, Name = name.Trim(), Vendor = vendor, Version = version, Path = path };
                    return;
                }
                it.Vendor ??= vendor;
                var versions = (it.Version ?? "").Split(new[] { ", " }, StringSplitOptions.RemoveEmptyEntries).ToList();
                if (!string.IsNullOrEmpty(version) && !versions.Contains(version!, StringComparer.OrdinalIgnoreCase))
                {
                    versions.Add(version!);
                    versions.Sort(StringComparer.OrdinalIgnoreCase);
                    it.Version = string.Join(", ", versions);
                }
            }
            foreach (var p in inv.Plugins ?? Array.Empty<PluginInfo>()) if (p != null) Add(p.Format, p.Name, p.Vendor, p.Version, p.Path);
            foreach (var t in inv.AuthorizationTools ?? Array.Empty<AuthorizationTool>()) if (t != null) Add(ToolKind, t.Name, null, t.Version, t.Path);
            return map;
        }
    }
}
