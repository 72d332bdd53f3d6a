using System.IO;
using System.Text;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Validation
{
    /// <summary>
    /// One text file a user names but other programs write (a plan .psd1 pushed by an RMM tool): read only when it is a
    /// regular file — never through a final link to a device, never blocking on a FIFO — and never larger than
    /// <c>maxBytes</c>. Every refusal is <paramref name="reason"/> naming the file.
    /// </summary>
    public static class StoredText
    {
        public static string Read(string path, long maxBytes, string reason, string what)
        {
            FileStream? fs;
            try { fs = NativeFs.OpenRegular(path, append: false); }
            catch (NotRegularFileException e) { throw StoredCheck.Damage(reason, path, what, "", StoredKindText.Describe(e.Kind), e); }
            if (fs == null) throw Fail.NotFound(reason, $"{what} '{path}' does not exist.", path);
            using (fs)
            {
                if (fs.Length > maxBytes) throw StoredCheck.Damage(reason, path, what, "", $"is {fs.Length:N0} bytes, more than such a file can be");
                using var reader = new StreamReader(fs, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
                return reader.ReadToEnd();
            }
        }
    }
}
