using System;
using System.Collections;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Plans;
using NekkBackup.Core.Validation;

namespace NekkBackup.Commands.Plans
{
    /// <summary>
    /// Reads a plan .psd1 the way Import-PowerShellDataFile does (parse, one hashtable literal, SafeGetValue: no code
    /// runs), turns the PowerShell values into plain .NET ones and hands them to Core's PlanParser.
    /// </summary>
    internal static class PlanFile
    {
        public static BackupPlan Load(string fullPath)
        {
            if (!File.Exists(fullPath))
                throw new NekkBackupException("PlanNotFound", FailureKind.NotFound, $"The plan file '{fullPath}' does not exist.", fullPath);
            // A regular file only (a FIFO or device in its place would hang the parser): read by Core's validation layer.
            var text = StoredText.Read(fullPath, 4 << 20, "InvalidPlan", "the plan file");
            var ast = Parser.ParseInput(text, fullPath, out _, out var errors);
            if (errors != null && errors.Length > 0)
            {
                var e = errors[0];
                throw new NekkBackupException("InvalidPlan", FailureKind.InvalidArgument,
                    $"Plan '{fullPath}': line {e.Extent.StartLineNumber}: {e.Message}", fullPath);
            }
            var table = ast.Find(a => a is HashtableAst, false) as HashtableAst;
            if (table == null || ast.EndBlock == null || ast.EndBlock.Statements.Count != 1)
                throw new NekkBackupException("InvalidPlan", FailureKind.InvalidArgument,
                    $"Plan '{fullPath}': the file must hold exactly one hashtable @{{ ... }} and nothing else.", fullPath);
            object? value;
            try { value = table.SafeGetValue(); }
            catch (InvalidOperationException ex)
            {
                throw new NekkBackupException("InvalidPlan", FailureKind.InvalidArgument,
                    $"Plan '{fullPath}': only constant values are allowed in a plan (strings, numbers, @(), @{{}}, $true/$false): {ex.Message}", fullPath, ex);
            }
            return PlanParser.Parse((IDictionary)Plain(value)!, fullPath);
        }

        /// <summary>PSObject → base objects, recursively (hashtables and arrays keep their shape).</summary>
        public static object? Plain(object? v)
        {
            if (v is PSObject pso) v = pso.BaseObject;
            switch (v)
            {
                case IDictionary d:
                    var h = new Hashtable(StringComparer.OrdinalIgnoreCase);
                    foreach (DictionaryEntry e in d) h[Plain(e.Key)!] = Plain(e.Value);
                    return h;
                case string s:
                    return s;
                case IEnumerable list:
                    return list.Cast<object?>().Select(Plain).ToArray();
                default:
                    return v;
            }
        }
    }
}
