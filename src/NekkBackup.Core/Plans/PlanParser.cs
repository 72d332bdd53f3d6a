using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Folder;
using NekkBackup.Core.Validation;

namespace NekkBackup.Core.Plans
{
    /// <summary>
    /// Builds a <see cref="BackupPlan"/> from the hashtable a plan .psd1 holds (the cmdlet layer parses the
    /// file safely, as Import-PowerShellDataFile does). Every problem is ONE NekkBackup.InvalidPlan error
    /// naming the key and what is wrong with it. Nothing is written.
    /// </summary>
    public static class PlanParser
    {
        public static readonly string[] TopKeys =
        {
            "SchemaVersion", "Name", "Host", "Sources", "NasDestination", "Folder", "Retention", "Image", "ImageRetention", "Cloud", "CloudRetention",
            "Schedules", "Daw", "FleetStatusPath", "Notify", "Report", "Drill",
        };

        private static readonly string[] FolderKeys = { "Snapshot", "Exclude", "Include", "MaxChangedPercent" };
        private static readonly string[] ImageKeys = { "Source", "Repository", "Mode", "ChangeDetection" };
        private static readonly string[] CloudKeys = { "Bucket", "Endpoint", "Prefix", "Region", "ProfileName", "ModifiedWithinDays" };
        private static readonly string[] DawKeys = { "Processes", "Policy" };
        private static readonly string[] RetentionKeys = { "KeepLast", "Hourly", "Daily", "Weekly", "Monthly" };
        private static readonly string[] ScheduleKeys = { "Frequency", "At", "Until", "EveryHours", "Days", "Grace" };
        private static readonly string[] SecretWords = { "password", "secret", "secretkey", "accesskey", "token", "credential", "apikey" };

        public static BackupPlan Parse(IDictionary data, string? planPath)
        {
            var p = new Reader(planPath);
            if (data == null) throw p.Error("(file)", "the plan file must hold one hashtable @{ ... }");
            p.CheckKeys(data, TopKeys, "");

            var version = p.Int(data, "SchemaVersion", required: true)!.Value;
            if (version < 1 || version > BackupPlan.CurrentSchemaVersion)
                throw p.Error("SchemaVersion", $"{version} is not supported; this NekkBackup reads SchemaVersion 1 to {BackupPlan.CurrentSchemaVersion}");

            var sources = p.StringArray(data, "Sources", required: true)!;
            if (sources.Length == 0) throw p.Error("Sources", "give at least one source folder");
            foreach (var s in sources) p.Absolute("Sources", s);
            var nas = p.String(data, "NasDestination", required: true)!;
            p.Absolute("NasDestination", nas);

            var name = p.String(data, "Name", required: false);
            if (string.IsNullOrWhiteSpace(name))
                name = planPath != null ? Path.GetFileNameWithoutExtension(planPath) : "plan";
            // Names become task, file and folder names, and the host name a file name and an object key: one safe-name rule.
            if (SafeName.Problem(name) is string badName)
                throw p.Error("Name", $"'{name}' cannot be part of a task or file name: it {badName}");
            var host = p.String(data, "Host", required: false);
            if (!string.IsNullOrWhiteSpace(host) && SafeName.Problem(host) is string badHost)
                throw p.Error("Host", $"{StoredCheck.Quote(host)} is not a host name: it {badHost} (a host name becomes a file name and an object key, never a path)");

            var folder = p.Table(data, "Folder");
            string snapshot = "Auto";
            string[] exclude = Array.Empty<string>(), include = Array.Empty<string>();
            double maxChanged = 30;
            if (folder != null)
            {
                p.CheckKeys(folder, FolderKeys, "Folder.");
                snapshot = p.Choice(folder, "Folder.Snapshot", "Snapshot", new[] { "Auto", "Required", "None" }) ?? "Auto";
                exclude = p.StringArray(folder, "Exclude", required: false, label: "Folder.Exclude") ?? exclude;
                include = p.StringArray(folder, "Include", required: false, label: "Folder.Include") ?? include;
                var m = p.Number(folder, "MaxChangedPercent", "Folder.MaxChangedPercent");
                if (m != null)
                {
                    if (m < 0 || m > 100) throw p.Error("Folder.MaxChangedPercent", $"must be between 0 and 100 (was {m})");
                    maxChanged = m.Value;
                }
            }

            var retention = ParseRetention(p, data, "Retention");
            var imageRetention = ParseRetention(p, data, "ImageRetention");
            var cloudRetention = ParseRetention(p, data, "CloudRetention");

            string? imageSource = null, imageRepo = null;
            string imageMode = "UsedBlocks", imageChanges = "FileSystem";
            var image = p.Table(data, "Image");
            if (image != null)
            {
                p.CheckKeys(image, ImageKeys, "Image.");
                imageSource = p.String(image, "Source", true, "Image.Source");
                imageRepo = p.String(image, "Repository", true, "Image.Repository");
                p.Absolute("Image.Repository", imageRepo!);
                imageMode = p.Choice(image, "Image.Mode", "Mode", new[] { "UsedBlocks", "AllBlocks" }) ?? imageMode;
                imageChanges = p.Choice(image, "Image.ChangeDetection", "ChangeDetection", new[] { "FileSystem", "Contents" }) ?? imageChanges;
            }

            string? bucket = null, endpoint = null, region = null, profile = null;
            string prefix = "";
            int modifiedWithin = 30;
            var cloud = p.Table(data, "Cloud");
            if (cloud != null)
            {
                p.CheckKeys(cloud, CloudKeys, "Cloud.");
                bucket = p.String(cloud, "Bucket", true, "Cloud.Bucket");
                endpoint = p.String(cloud, "Endpoint", false, "Cloud.Endpoint");
                if (!string.IsNullOrEmpty(endpoint) && !Uri.TryCreate(endpoint, UriKind.Absolute, out _))
                    throw p.Error("Cloud.Endpoint", $"'{endpoint}' is not an absolute URL (for example https://s3.eu-central-003.backblazeb2.com)");
                prefix = p.String(cloud, "Prefix", false, "Cloud.Prefix") ?? "";
                region = p.String(cloud, "Region", false, "Cloud.Region");
                profile = p.String(cloud, "ProfileName", false, "Cloud.ProfileName");
                var mw = p.Int(cloud, "ModifiedWithinDays", false, "Cloud.ModifiedWithinDays");
                if (mw != null)
                {
                    if (mw <= 0) throw p.Error("Cloud.ModifiedWithinDays", "must be a positive number of days");
                    modifiedWithin = mw.Value;
                }
            }

            if (cloudRetention != null && cloud == null)
                throw p.Error("CloudRetention", "applies to the plan's bucket, but the plan has no Cloud key");

            string[] daw = BackupPlan.DefaultDawProcesses;
            string dawPolicy = "Defer";
            var dawTable = p.Table(data, "Daw");
            if (dawTable != null)
            {
                p.CheckKeys(dawTable, DawKeys, "Daw.");
                daw = p.StringArray(dawTable, "Processes", false, "Daw.Processes") ?? daw;
                dawPolicy = p.Choice(dawTable, "Daw.Policy", "Policy", new[] { "Defer", "Throttle" }) ?? dawPolicy;
            }

            var schedules = new Dictionary<PlanLeg, PlanSchedule>();
            var sched = p.Table(data, "Schedules");
            if (sched != null)
            {
                foreach (DictionaryEntry e in sched)
                {
                    var legName = Convert.ToString(e.Key, CultureInfo.InvariantCulture) ?? "";
                    if (!Enum.TryParse<PlanLeg>(legName, true, out var leg) || !Enum.IsDefined(typeof(PlanLeg), leg) || legName.All(char.IsDigit))
                        throw p.Error("Schedules." + legName, $"unknown leg '{legName}'; the legs are {string.Join(", ", Enum.GetNames(typeof(PlanLeg)))}");
                    var t = Unwrap(e.Value) as IDictionary ?? throw p.Error("Schedules." + leg, $"must be a hashtable @{{ Frequency = ...; At = 'HH:mm' }}, not {Describe(e.Value)}");
                    schedules[leg] = p.Schedule(t, leg);
                }
            }

            var fleet = p.String(data, "FleetStatusPath", false);
            if (fleet != null) p.Absolute("FleetStatusPath", fleet);
            // Alerts and the owner's report (Core/Notify, Core/Reports; docs/plan-schema.md).
            var notify = Notify.NotifySettings.Parse(p.Table(data, "Notify"), planPath);
            var report = Reports.ReportSettings.Parse(p.Table(data, "Report"), planPath);
            var drill = DrillSettings.Parse(p.Table(data, "Drill"), planPath);

            return new BackupPlan
            {
                Path = planPath,
                SchemaVersion = version,
                Name = name!,
                Host = string.IsNullOrWhiteSpace(host) ? OperatingSystemInfo.HostName : host!.ToLowerInvariant(),
                Sources = sources,
                NasDestination = nas,
                Exclude = exclude,
                Include = include,
                Snapshot = snapshot,
                MaxChangedPercent = maxChanged,
                Retention = retention,
                ImageSource = imageSource,
                ImageRetention = imageRetention,
                ImageRepository = imageRepo,
                ImageMode = imageMode,
                ImageChangeDetection = imageChanges,
                Bucket = bucket,
                Endpoint = endpoint,
                Prefix = prefix,
                Region = region,
                ProfileName = profile,
                CloudModifiedWithinDays = modifiedWithin,
                CloudRetention = cloudRetention,
                FleetStatusPath = fleet,
                Notify = notify,
                Report = report,
                Drill = drill,
                DawProcesses = daw,
                DawPolicy = dawPolicy,
                FolderSchedule = schedules.TryGetValue(PlanLeg.Folder, out var f) ? f : PlanSchedule.DefaultFolder,
                CloudSchedule = schedules.TryGetValue(PlanLeg.Cloud, out var c) ? c : PlanSchedule.DefaultCloud,
                ImageSchedule = schedules.TryGetValue(PlanLeg.Image, out var i) ? i : PlanSchedule.DefaultImage,
                DrillSchedule = schedules.TryGetValue(PlanLeg.Drill, out var d) ? d : PlanSchedule.DefaultDrill,
            };
        }

        /// <summary>A GFS retention table (Retention, ImageRetention, CloudRetention): @{ KeepLast; Hourly; Daily; Weekly; Monthly }.</summary>
        private static RetentionPolicy? ParseRetention(Reader p, IDictionary data, string key)
        {
            var ret = p.Table(data, key);
            if (ret == null) return null;
            p.CheckKeys(ret, RetentionKeys, key + ".");
            var policy = new RetentionPolicy
            {
                KeepLast = p.Int(ret, "KeepLast", false, key + ".KeepLast"),
                Hourly = p.Int(ret, "Hourly", false, key + ".Hourly"),
                Daily = p.Int(ret, "Daily", false, key + ".Daily"),
                Weekly = p.Int(ret, "Weekly", false, key + ".Weekly"),
                Monthly = p.Int(ret, "Monthly", false, key + ".Monthly"),
            };
            try { Folder.Retention.Validate(policy); }
            catch (NekkBackupException ex) { throw p.Error(key, ex.Message); }
            return policy;
        }

        /// <summary>Parses 'HH:mm'.</summary>
        public static bool TryParseTime(string s, out TimeSpan t)
        {
            t = default;
            if (!TimeSpan.TryParseExact(s?.Trim() ?? "", new[] { @"h\:mm", @"hh\:mm" }, CultureInfo.InvariantCulture, out var v)) return false;
            if (v < TimeSpan.Zero || v >= TimeSpan.FromDays(1)) return false;
            t = v;
            return true;
        }

        /// <summary>Parses a duration: '90m', '4h', '2d', or a bare number of minutes.</summary>
        public static bool TryParseDuration(object? value, out TimeSpan t)
        {
            t = default;
            value = Unwrap(value);
            if (value is TimeSpan ts) { t = ts; return ts > TimeSpan.Zero; }
            if (value is int || value is long) { t = TimeSpan.FromMinutes(Convert.ToDouble(value, CultureInfo.InvariantCulture)); return t > TimeSpan.Zero; }
            if (value is not string s || s.Length < 2) return false;
            s = s.Trim();
            if (!double.TryParse(s.Substring(0, s.Length - 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var n) || n <= 0) return false;
            switch (char.ToLowerInvariant(s[s.Length - 1]))
            {
                case 'm': t = TimeSpan.FromMinutes(n); return true;
                case 'h': t = TimeSpan.FromHours(n); return true;
                case 'd': t = TimeSpan.FromDays(n); return true;
                default: return false;
            }
        }

        internal static object? Unwrap(object? v)
        {
            // PSObject is unknown here (no PowerShell reference); the cmdlet layer unwraps, but be defensive.
            if (v == null) return null;
            var t = v.GetType();
            if (t.FullName == "System.Management.Automation.PSObject")
                return t.GetProperty("BaseObject")?.GetValue(v);
            return v;
        }

        internal static string Describe(object? v)
        {
            v = Unwrap(v);
            return v switch
            {
                null => "nothing ($null)",
                string s => $"the string '{s}'",
                IDictionary => "a hashtable",
                IEnumerable => "a list",
                _ => $"{v} ({v.GetType().Name})",
            };
        }

        private sealed class Reader
        {
            private readonly string _file;

            public Reader(string? path) => _file = path ?? "(in memory)";

            public NekkBackupException Error(string key, string problem) =>
                new("InvalidPlan", FailureKind.InvalidArgument, $"Plan '{_file}': key '{key}' {problem}.", key);

            public void CheckKeys(IDictionary t, string[] known, string prefix)
            {
                foreach (DictionaryEntry e in t)
                {
                    var k = Convert.ToString(e.Key, CultureInfo.InvariantCulture) ?? "";
                    if (known.Any(x => string.Equals(x, k, StringComparison.OrdinalIgnoreCase))) continue;
                    if (SecretWords.Any(w => k.IndexOf(w, StringComparison.OrdinalIgnoreCase) >= 0))
                        throw Error(prefix + k, "looks like a secret, and plans never hold secrets: remove it and store the secret with Set-NekkCredential (or use an AWS profile)");
                    if (prefix.Length == 0)
                        throw Error(k, $"is not a plan key; known keys are {string.Join(", ", known)}");
                    throw Error(prefix + k, $"is not a known key; known keys are {string.Join(", ", known.Select(x => prefix + x))}");
                }
            }

            private static bool TryGet(IDictionary t, string key, out object? value)
            {
                foreach (DictionaryEntry e in t)
                {
                    if (string.Equals(Convert.ToString(e.Key, CultureInfo.InvariantCulture), key, StringComparison.OrdinalIgnoreCase))
                    {
                        value = Unwrap(e.Value);
                        return true;
                    }
                }
                value = null;
                return false;
            }

            public string? String(IDictionary t, string key, bool required, string? label = null)
            {
                label ??= key;
                if (!TryGet(t, key, out var v) || v == null)
                {
                    if (required) throw Error(label, "is missing");
                    return null;
                }
                if (v is not string s) throw Error(label, $"must be a string, not {Describe(v)}");
                if (required && string.IsNullOrWhiteSpace(s)) throw Error(label, "is empty");
                return s;
            }

            public string[]? StringArray(IDictionary t, string key, bool required, string? label = null)
            {
                label ??= key;
                if (!TryGet(t, key, out var v) || v == null)
                {
                    if (required) throw Error(label, "is missing");
                    return null;
                }
                if (v is string one) return string.IsNullOrWhiteSpace(one) ? throw Error(label, "is empty") : new[] { one };
                if (v is IDictionary || v is not IEnumerable list) throw Error(label, $"must be a string or a list of strings @('...'), not {Describe(v)}");
                var result = new List<string>();
                foreach (var item in list)
                {
                    var x = Unwrap(item);
                    if (x is not string s || string.IsNullOrWhiteSpace(s)) throw Error(label, $"must hold only non-empty strings, but holds {Describe(x)}");
                    result.Add(s);
                }
                return result.ToArray();
            }

            public int? Int(IDictionary t, string key, bool required, string? label = null)
            {
                label ??= key;
                if (!TryGet(t, key, out var v) || v == null)
                {
                    if (required) throw Error(label, "is missing");
                    return null;
                }
                if (v is int i) return i;
                if (v is long l && l >= int.MinValue && l <= int.MaxValue) return (int)l;
                if (v is byte || v is short) return Convert.ToInt32(v, CultureInfo.InvariantCulture);
                throw Error(label, $"must be a whole number, not {Describe(v)}");
            }

            public double? Number(IDictionary t, string key, string label)
            {
                if (!TryGet(t, key, out var v) || v == null) return null;
                if (v is int || v is long || v is double || v is decimal || v is float || v is short || v is byte)
                    return Convert.ToDouble(v, CultureInfo.InvariantCulture);
                throw Error(label, $"must be a number, not {Describe(v)}");
            }

            public IDictionary? Table(IDictionary t, string key)
            {
                if (!TryGet(t, key, out var v) || v == null) return null;
                return v as IDictionary ?? throw Error(key, $"must be a hashtable @{{ ... }}, not {Describe(v)}");
            }

            public string? Choice(IDictionary t, string label, string key, string[] allowed)
            {
                var s = String(t, key, false, label);
                if (s == null) return null;
                var hit = allowed.FirstOrDefault(a => string.Equals(a, s, StringComparison.OrdinalIgnoreCase));
                return hit ?? throw Error(label, $"is '{s}'; use one of {string.Join(", ", allowed)}");
            }

            public void Absolute(string label, string path)
            {
                if (!IsAbsolute(path)) throw Error(label, $"'{path}' must be an absolute path (a scheduled run has no current folder; on Windows use a UNC path for a NAS, never a mapped drive letter)");
            }

            public PlanSchedule Schedule(IDictionary t, PlanLeg leg)
            {
                var pre = "Schedules." + leg + ".";
                CheckKeys(t, ScheduleKeys, pre);
                var def = PlanSchedule.DefaultFor(leg);
                var freqText = Choice(t, pre + "Frequency", "Frequency", Enum.GetNames(typeof(ScheduleFrequency)));
                var freq = freqText != null ? (ScheduleFrequency)Enum.Parse(typeof(ScheduleFrequency), freqText, true) : def.Frequency;
                var at = def.At;
                var atText = String(t, "At", false, pre + "At");
                if (atText != null && !TryParseTime(atText, out at)) throw Error(pre + "At", $"is '{atText}'; write a time of day as 'HH:mm' (for example '08:00')");
                var until = freq == def.Frequency ? def.Until : TimeSpan.FromHours(20);
                var untilText = String(t, "Until", false, pre + "Until");
                if (untilText != null && !TryParseTime(untilText, out until)) throw Error(pre + "Until", $"is '{untilText}'; write a time of day as 'HH:mm' (for example '20:00')");
                var every = Int(t, "EveryHours", false, pre + "EveryHours") ?? (def.EveryHours > 0 ? def.EveryHours : 4);
                if (freq == ScheduleFrequency.Interval)
                {
                    if (every < 1 || every > 23) throw Error(pre + "EveryHours", $"must be between 1 and 23 (was {every})");
                    if (until < at) throw Error(pre + "Until", $"({until:hh\\:mm}) is before At ({at:hh\\:mm})");
                }
                IReadOnlyList<DayOfWeek> days = freq == def.Frequency ? def.Days : (freq == ScheduleFrequency.Weekly ? new[] { DayOfWeek.Sunday } : PlanSchedule.EveryDay);
                var dayNames = StringArray(t, "Days", false, pre + "Days");
                if (dayNames != null)
                {
                    var list = new List<DayOfWeek>();
                    foreach (var n in dayNames)
                    {
                        var d = ParseDay(n) ?? throw Error(pre + "Days", $"holds '{n}', which is not a weekday (use Mon, Tue, Wed, Thu, Fri, Sat, Sun)");
                        if (!list.Contains(d)) list.Add(d);
                    }
                    days = list.OrderBy(d => ((int)d + 6) % 7).ToArray();
                }
                var grace = def.Grace;
                if (TryGet(t, "Grace", out var g) && g != null && !TryParseDuration(g, out grace))
                    throw Error(pre + "Grace", $"is {Describe(g)}; write a duration such as '90m', '4h' or '2d'");
                return new PlanSchedule { Frequency = freq, At = at, Until = until, EveryHours = every, Days = days, Grace = grace };
            }
        }

        public static DayOfWeek? ParseDay(string s)
        {
            s = (s ?? "").Trim();
            if (s.Length < 2) return null;
            foreach (DayOfWeek d in Enum.GetValues(typeof(DayOfWeek)))
                if (d.ToString().StartsWith(s, StringComparison.OrdinalIgnoreCase) && s.Length >= 3 || string.Equals(d.ToString(), s, StringComparison.OrdinalIgnoreCase))
                    return d;
            return null;
        }

        /// <summary>Rooted local path or a UNC path (\\server\share), on any OS (plans are written for Windows and read on Linux in tests).</summary>
        public static bool IsAbsolute(string path)
        {
            if (string.IsNullOrWhiteSpace(path)) return false;
            if (path.StartsWith(@"\\", StringComparison.Ordinal) || path.StartsWith("//", StringComparison.Ordinal)) return true;
            if (path.Length >= 3 && char.IsLetter(path[0]) && path[1] == ':' && (path[2] == '\\' || path[2] == '/')) return true;
            return !OperatingSystemInfo.IsWindows && path.StartsWith("/", StringComparison.Ordinal);
        }
    }
}
