#Requires -Version 7.4
# Every numbered example runs as written (with -WhatIf, against scratch paths): examples must not rot.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-NekkTestModule
    # Examples say `Import-Module NekkBackup`: make the built module discoverable by name.
    $env:PSModulePath = (Split-Path (Split-Path (Split-Path (Get-NekkManifestPath)))) + [System.IO.Path]::PathSeparator + $env:PSModulePath
}

Describe 'examples/<_>' -ForEach @(Get-ChildItem (Join-Path $PSScriptRoot '../../examples') -Recurse -Include '[0-9]*.ps1' | ForEach-Object Name) {
    It 'runs with -WhatIf and writes nothing' {
        $script = Get-ChildItem (Join-Path $PSScriptRoot '../../examples') -Recurse -Filter $_ | Select-Object -First 1
        $dir = New-NekkTestDirectory 'example'
        New-Item -ItemType Directory "$dir/Sessions" | Out-Null
        Set-Content "$dir/Sessions/take.txt" 'take'
        $params = (Get-Command $script.FullName).Parameters
        $splat = @{ WhatIf = $true }
        if ($params.ContainsKey('Source')) { $splat.Source = "$dir/Sessions" }
        if ($params.ContainsKey('Destination')) { $splat.Destination = "$dir/nas" }
        $argList = foreach ($k in $splat.Keys) { if ($splat[$k] -is [bool]) { "-${k}" } else { "-${k}", $splat[$k] } }
        $out = Invoke-NekkPwsh -File $script.FullName @argList 2>&1
        $LASTEXITCODE | Should -Be 0 -Because ($out | Out-String)
        Test-Path "$dir/nas" | Should -BeFalse
        Remove-Item -Recurse -Force $dir -ErrorAction SilentlyContinue
    }
}
