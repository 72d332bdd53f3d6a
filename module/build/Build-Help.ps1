#Requires -Version 7.4
<#
.SYNOPSIS
    Compiles module/help/<Cmdlet>.md (platyPS-shaped markdown) into MAML for the built module, and
    checks the manifest's explicit export list against the cmdlets in the assembly.
.DESCRIPTION
    platyPS is not served here, so the build writes MAML itself. Syntax and parameter metadata come
    from the compiled cmdlets (imported in this fresh session); descriptions and examples from the
    markdown. Fails when a cmdlet has no help file, a help file has fewer than two examples, a
    parameter is undocumented, or the manifest exports differ from the assembly's cmdlets.
#>
param(
    [Parameter(Mandatory)] [string] $ModuleManifest,
    [Parameter(Mandatory)] [string] $HelpSource
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

$moduleDir = Split-Path $ModuleManifest
$module = Import-Module $ModuleManifest -PassThru -Force
$nested = $module.NestedModules | Where-Object Name -eq 'NekkBackup.Commands'
$inAssembly = @($nested.ExportedCmdlets.Keys | Sort-Object)
$declared = @((Import-PowerShellDataFile $ModuleManifest).CmdletsToExport | Sort-Object)
$exported = @($module.ExportedCmdlets.Keys | Sort-Object)
$problems = [System.Collections.Generic.List[string]]::new()
foreach ($c in $inAssembly) { if ($c -notin $declared) { $problems.Add("cmdlet $c is in the assembly but not in CmdletsToExport") } }
foreach ($c in $declared) { if ($c -notin $inAssembly) { $problems.Add("CmdletsToExport lists $c, which the assembly does not define") } }
foreach ($c in $declared) { if ($c -notin $exported) { $problems.Add("$c is declared but not exported by the loaded module") } }

$common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters

function ConvertFrom-HelpMarkdown([string] $path) {
    $lines = Get-Content -LiteralPath $path
    $doc = @{ Synopsis = ''; Description = ''; Examples = [System.Collections.Generic.List[object]]::new(); Parameters = @{}; Outputs = [System.Collections.Generic.List[object]]::new(); Inputs = [System.Collections.Generic.List[object]]::new(); Notes = ''; Links = [System.Collections.Generic.List[string]]::new() }
    $section = ''; $sub = $null; $buffer = [System.Collections.Generic.List[string]]::new(); $inFence = $false
    $flush = {
        $text = ($buffer -join "`n").Trim()
        switch ($section) {
            'SYNOPSIS' { $doc.Synopsis = $text }
            'DESCRIPTION' { $doc.Description = $text }
            'NOTES' { $doc.Notes = $text }
            'EXAMPLES' {
                if ($sub) {
                    $code = [regex]::Match($text, '(?s)```[a-zA-Z]*\n(.*?)\n```')
                    $remarks = [regex]::Replace($text, '(?s)```[a-zA-Z]*\n.*?\n```', '').Trim()
                    $doc.Examples.Add([pscustomobject]@{ Title = $sub; Code = $code.Groups[1].Value.Trim(); Remarks = $remarks })
                }
            }
            'PARAMETERS' { if ($sub) { $doc.Parameters[$sub.TrimStart('-')] = $text } }
            'OUTPUTS' { if ($sub) { $doc.Outputs.Add([pscustomobject]@{ Type = $sub; Text = $text }) } }
            'INPUTS' { if ($sub) { $doc.Inputs.Add([pscustomobject]@{ Type = $sub; Text = $text }) } }
            'RELATED LINKS' { foreach ($l in $buffer) { if ($l.Trim()) { $doc.Links.Add($l.Trim().TrimStart('-', '*', ' ')) } } }
        }
        $buffer.Clear()
    }
    foreach ($line in $lines) {
        if ($line -match '^```') { $inFence = -not $inFence; $buffer.Add($line); continue }
        if (-not $inFence -and $line -match '^## (.+)$') { & $flush; $section = $Matches[1].Trim().ToUpperInvariant(); $sub = $null; continue }
        if (-not $inFence -and $line -match '^### (.+)$') { & $flush; $sub = $Matches[1].Trim(); continue }
        if (-not $inFence -and $line -match '^# ') { continue }
        $buffer.Add($line)
    }
    & $flush
    return $doc
}

function Add-Paras([System.Xml.XmlWriter] $w, [string] $text) {
    $w.WriteStartElement('maml', 'description', 'http://schemas.microsoft.com/maml/2004/10')
    foreach ($p in ($text -split "\n\s*\n")) {
        $w.WriteElementString('maml', 'para', 'http://schemas.microsoft.com/maml/2004/10', ($p -replace '\s*\n\s*', ' ').Trim())
    }
    $w.WriteEndElement()
}

$maml = 'http://schemas.microsoft.com/maml/2004/10'
$cmd = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
$dev = 'http://schemas.microsoft.com/maml/dev/2004/10'
$helpFile = Join-Path $moduleDir 'en-US/NekkBackup.Commands.dll-Help.xml'
New-Item -ItemType Directory -Force (Split-Path $helpFile) | Out-Null
$settings = [System.Xml.XmlWriterSettings]@{ Indent = $true; Encoding = [System.Text.UTF8Encoding]::new($false) }
$w = [System.Xml.XmlWriter]::Create($helpFile, $settings)
$w.WriteStartDocument()
$w.WriteStartElement('helpItems', 'http://msh')
$w.WriteAttributeString('schema', 'maml')
foreach ($name in $inAssembly) {
    $md = Join-Path $HelpSource "$name.md"
    if (-not (Test-Path $md)) { $problems.Add("no help source $md"); continue }
    $doc = ConvertFrom-HelpMarkdown $md
    if (-not $doc.Synopsis) { $problems.Add("$name help has no SYNOPSIS") }
    if ($doc.Examples.Count -lt 2) { $problems.Add("$name help has fewer than two examples") }
    $info = Get-Command $name
    $verb, $noun = $name -split '-', 2
    $w.WriteStartElement('command', 'command', $cmd)
    $w.WriteAttributeString('xmlns', 'maml', $null, $maml)
    $w.WriteAttributeString('xmlns', 'dev', $null, $dev)
    $w.WriteStartElement('command', 'details', $cmd)
    $w.WriteElementString('command', 'name', $cmd, $name)
    $w.WriteElementString('command', 'verb', $cmd, $verb)
    $w.WriteElementString('command', 'noun', $cmd, $noun)
    Add-Paras $w $doc.Synopsis
    $w.WriteEndElement()
    Add-Paras $w $doc.Description

    $writeParam = {
        param($p, [string] $position)
        $attr = $p.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] } | Select-Object -First 1
        $pipe = @()
        if ($attr.ValueFromPipeline) { $pipe += 'ByValue' }
        if ($attr.ValueFromPipelineByPropertyName) { $pipe += 'ByPropertyName' }
        $w.WriteStartElement('command', 'parameter', $cmd)
        $w.WriteAttributeString('required', ([string]$attr.Mandatory).ToLowerInvariant())
        $w.WriteAttributeString('variableLength', ([string]$p.ParameterType.IsArray).ToLowerInvariant())
        $w.WriteAttributeString('globbing', 'false')
        $w.WriteAttributeString('pipelineInput', $(if ($pipe) { "True ($($pipe -join ', '))" } else { 'False' }))
        $w.WriteAttributeString('position', $position)
        $w.WriteAttributeString('aliases', $(if ($p.Aliases.Count) { $p.Aliases -join ', ' } else { 'none' }))
        $w.WriteElementString('maml', 'name', $maml, $p.Name)
        $text = $doc.Parameters[$p.Name]
        if (-not $text) { $problems.Add("$name help does not describe -$($p.Name)"); $text = '' }
        Add-Paras $w $text
        $isSwitch = $p.ParameterType -eq [System.Management.Automation.SwitchParameter]
        if (-not $isSwitch) {
            $w.WriteStartElement('command', 'parameterValue', $cmd)
            $w.WriteAttributeString('required', 'true')
            $w.WriteAttributeString('variableLength', 'false')
            $w.WriteString($p.ParameterType.Name)
            $w.WriteEndElement()
        }
        $w.WriteStartElement('dev', 'type', $dev)
        $w.WriteElementString('maml', 'name', $maml, $p.ParameterType.FullName)
        $w.WriteEndElement()
        $w.WriteEndElement()
    }

    $w.WriteStartElement('command', 'syntax', $cmd)
    foreach ($set in $info.ParameterSets) {
        $w.WriteStartElement('command', 'syntaxItem', $cmd)
        $w.WriteElementString('maml', 'name', $maml, $name)
        foreach ($p in $set.Parameters | Where-Object { $_.Name -notin $common }) {
            $pos = if ($p.Position -ge 0) { [string]$p.Position } else { 'named' }
            $meta = $info.Parameters[$p.Name]
            & $writeParam $meta $pos
        }
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    $w.WriteStartElement('command', 'parameters', $cmd)
    foreach ($p in $info.Parameters.Values | Where-Object { $_.Name -notin $common }) {
        $pos = 'named'
        foreach ($set in $info.ParameterSets) { $sp = $set.Parameters | Where-Object Name -eq $p.Name; if ($sp -and $sp.Position -ge 0) { $pos = [string]$sp.Position } }
        & $writeParam $p $pos
    }
    $w.WriteEndElement()

    foreach ($kind in @(@{ List = $doc.Inputs; Outer = 'inputTypes'; Inner = 'inputType' }, @{ List = $doc.Outputs; Outer = 'returnValues'; Inner = 'returnValue' })) {
        $w.WriteStartElement('command', $kind.Outer, $cmd)
        foreach ($o in $kind.List) {
            $w.WriteStartElement('command', $kind.Inner, $cmd)
            $w.WriteStartElement('dev', 'type', $dev)
            $w.WriteElementString('maml', 'name', $maml, $o.Type)
            $w.WriteEndElement()
            Add-Paras $w $o.Text
            $w.WriteEndElement()
        }
        $w.WriteEndElement()
    }
    if ($doc.Notes) {
        $w.WriteStartElement('maml', 'alertSet', $maml)
        $w.WriteStartElement('maml', 'alert', $maml)
        $w.WriteElementString('maml', 'para', $maml, $doc.Notes)
        $w.WriteEndElement()
        $w.WriteEndElement()
    }
    $w.WriteStartElement('command', 'examples', $cmd)
    foreach ($e in $doc.Examples) {
        if (-not $e.Code) { $problems.Add("$name example '$($e.Title)' has no code block") }
        $w.WriteStartElement('command', 'example', $cmd)
        $w.WriteElementString('maml', 'title', $maml, "-------------------------- $($e.Title) --------------------------")
        $w.WriteElementString('dev', 'code', $dev, $e.Code)
        $w.WriteStartElement('dev', 'remarks', $dev)
        foreach ($p in ($e.Remarks -split "\n\s*\n")) { $w.WriteElementString('maml', 'para', $maml, ($p -replace '\s*\n\s*', ' ').Trim()) }
        $w.WriteEndElement()
        $w.WriteEndElement()
    }
    $w.WriteEndElement()
    $w.WriteStartElement('command', 'relatedLinks', $cmd)
    foreach ($l in $doc.Links) {
        $w.WriteStartElement('maml', 'navigationLink', $maml)
        $w.WriteElementString('maml', 'linkText', $maml, $l)
        $w.WriteEndElement()
    }
    $w.WriteEndElement()
    $w.WriteEndElement()
}
$w.WriteEndElement()
$w.WriteEndDocument()
$w.Close()

# Help must be found whichever edition's assembly is loaded.
foreach ($edition in 'core', 'desktop') {
    $dir = Join-Path $moduleDir "$edition/en-US"
    New-Item -ItemType Directory -Force $dir | Out-Null
    Copy-Item $helpFile $dir
}

if ($problems.Count) {
    $problems | ForEach-Object { Write-Host "help/export problem: $_" }
    exit 1
}
Write-Host "Help: $($inAssembly.Count) cmdlets documented; exports match the manifest."
exit 0
