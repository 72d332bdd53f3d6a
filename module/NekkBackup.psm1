# Loads the cmdlet assembly built for this edition: core/ (PowerShell 7.4+, .NET 8+) or desktop/ (Windows PowerShell 5.1).
# Each folder keeps NekkBackup.Core and its dependencies under dependencies/, loaded in isolation (see about_NekkBackup).
if ($PSVersionTable.PSEdition -eq 'Core' -and $PSVersionTable.PSVersion -lt [version]'7.4') {
    throw "NekkBackup needs PowerShell 7.4 or later (this is $($PSVersionTable.PSVersion)), or Windows PowerShell 5.1."
}
$edition = if ($PSVersionTable.PSEdition -eq 'Core') { 'core' } else { 'desktop' }
$assembly = Join-Path (Join-Path $PSScriptRoot $edition) 'NekkBackup.Commands.dll'
# Register the isolated resolver for ./dependencies before PowerShell reflects over the cmdlets.
$loaded = [System.Reflection.Assembly]::LoadFrom($assembly)
$loaded.GetType('NekkBackup.Commands.Infrastructure.DependencyResolver', $true).GetMethod('Register').Invoke($null, @()) | Out-Null
$module = Import-Module -Name $assembly -PassThru -ErrorAction Stop
$ExecutionContext.SessionState.Module.OnRemove = { Remove-Module -ModuleInfo $module -ErrorAction SilentlyContinue }.GetNewClosure()
