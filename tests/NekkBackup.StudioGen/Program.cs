using System;
using System.Globalization;
using System.IO;
using System.Text.Json;
using NekkBackup.SampleData;

// studiogen gen DIR SIZE_MB [--seed N] | mutate DIR PERCENT [--seed N] | digest DIR
// Prints one JSON line (gen, mutate) or "<sha256>  <n> files" (digest). Exit 2 on bad arguments, 1 on failure.
const string Usage = "usage: studiogen gen DIR SIZE_MB [--seed N] | mutate DIR PERCENT [--seed N] | digest DIR";
var json = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
try
{
    if (args.Length < 2) return Fail(Usage);
    var seed = 1;
    var seedAt = Array.IndexOf(args, "--seed");
    if (seedAt >= 0 && (seedAt + 1 >= args.Length || !int.TryParse(args[seedAt + 1], NumberStyles.Integer, CultureInfo.InvariantCulture, out seed)))
        return Fail("--seed needs an integer");
    var dir = Path.GetFullPath(args[1]);
    switch (args[0])
    {
        case "gen":
            if (args.Length < 3 || !int.TryParse(args[2], NumberStyles.None, CultureInfo.InvariantCulture, out var sizeMb) || sizeMb <= 0)
                return Fail("SIZE_MB must be a positive integer");
            Console.WriteLine(JsonSerializer.Serialize(StudioGenerator.Generate(dir, sizeMb, seed), json));
            return 0;
        case "mutate":
            if (args.Length < 3 || !double.TryParse(args[2], NumberStyles.Float, CultureInfo.InvariantCulture, out var percent) || percent < 0 || percent > 100)
                return Fail("PERCENT must be a number from 0 to 100");
            Console.WriteLine(JsonSerializer.Serialize(StudioGenerator.Mutate(dir, percent, seed), json));
            return 0;
        case "digest":
            var (sha, files) = StudioGenerator.Digest(dir);
            Console.WriteLine($"{sha}  {files} files");
            return 0;
        default:
            return Fail(Usage);
    }
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine("studiogen: " + e.Message);
    return 1;
}

static int Fail(string message)
{
    Console.Error.WriteLine(message);
    return 2;
}
