#Requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests, packages and demonstrates BackupTools.
.DESCRIPTION
    Build    dotnet build of the solution.
    Test     the xunit suite (dotnet test), then the Pester suite in a child pwsh against the packaged module,
             so the module DLL is never loaded into this session. Pester: the newest 5.x (5.5 or later) installed,
             else Pester 5.7.1 restored from NuGet (tests/Pester/Provision).
    Package  out/BackupTools/<version>/: a folder Import-Module takes as it is.
    Demo     starts the simulator, runs demo/Demo.ps1 against the packaged module, stops the simulator.
.EXAMPLE
    ./build.ps1 -Task Test
.EXAMPLE
    ./build.ps1 -Task Demo
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Package', 'Demo')]
    [string] $Task = 'Build',
    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',
    # Skip the xunit run (CI runs it before calling this script).
    [switch] $SkipDotnetTest
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$root = $PSScriptRoot
# The child sessions run in this very pwsh, not whichever one PATH finds first. As a .NET tool (dotnet pwsh) this
# process is dotnet running pwsh.dll, and so are the children (the tool's own pwsh executable is built for one
# platform only); a host embedding PowerShell uses the pwsh next to its engine.
$pwsh = (Get-Process -Id $PID).Path
$pwshPrefix = @()
$pwshLeaf = Split-Path -Leaf $pwsh
if (($pwshLeaf -eq 'dotnet' -or $pwshLeaf -eq 'dotnet.exe') -and (Test-Path (Join-Path $PSHOME 'pwsh.dll'))) { $pwshPrefix = @(Join-Path $PSHOME 'pwsh.dll') }
elseif ($pwshLeaf -ne $(if ($IsWindows) { 'pwsh.exe' } else { 'pwsh' })) { $pwsh = Join-Path $PSHOME $(if ($IsWindows) { 'pwsh.exe' } else { 'pwsh' }) }

function Invoke-Native([string] $File, [string[]] $Arguments) {
    & $File @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$File $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

function Get-ModuleVersion {
    ([xml](Get-Content -Raw (Join-Path $root 'Directory.Build.props'))).Project.PropertyGroup.ModuleVersion | Where-Object { $_ } | Select-Object -First 1
}

function Invoke-Build { Invoke-Native dotnet @('build', (Join-Path $root 'BackupTools.sln'), '-c', $Configuration) }

function Invoke-Package {
    # Publish compiles the help (tools/HelpCompiler) into the package and fails when a file is missing from it.
    # To the host: what the function writes is the package path alone, not dotnet's lines as well.
    Invoke-Native dotnet @('publish', (Join-Path $root 'src/BackupTools/BackupTools.csproj'), '-c', $Configuration) | Out-Host
    $package = Join-Path $root "out/BackupTools/$(Get-ModuleVersion)"
    foreach ($file in 'BackupTools.psd1', 'BackupTools.dll', 'BackupTools.Format.ps1xml', 'BackupTools.Types.ps1xml', 'en-US/BackupTools.dll-Help.xml', 'en-US/about_BackupTools.help.txt') {
        if (-not (Test-Path (Join-Path $package $file))) { throw "Package is missing $file" }
    }
    $package
}

function Get-TestPester {
    # The newest Pester 5.5 or later installed, else the one tests/Pester/Provision pins, restored from the repository's
    # NuGet sources (no PowerShell Gallery needed): what the child session imports, as a path.
    $installed = Get-Module -ListAvailable Pester | Where-Object { $_.Version -ge '5.5.0' -and $_.Version.Major -eq 5 } |
        Sort-Object Version -Descending | Select-Object -First 1
    if ($installed) { return $installed.Path }
    $project = Join-Path $root 'tests/Pester/Provision/Pester.Provision.csproj'
    Invoke-Native dotnet @('restore', $project, '--nologo') | Out-Host
    $assets = Get-Content -Raw (Join-Path $root 'tests/Pester/Provision/obj/project.assets.json') | ConvertFrom-Json
    $version = ([xml](Get-Content -Raw $project)).Project.ItemGroup.PackageDownload.Version.Trim('[]')
    foreach ($folder in $assets.packageFolders.PSObject.Properties.Name) {
        $manifest = Join-Path $folder "pester/$version/tools/Pester.psd1"
        if (Test-Path -LiteralPath $manifest) { return $manifest }
    }
    throw "Pester $version was restored but its module was not found under $($assets.packageFolders.PSObject.Properties.Name -join ', ')."
}

function Start-Simulator {
    $simulator = Join-Path $root 'src/BackupTools.Simulator/BackupTools.Simulator.csproj'
    Invoke-Native dotnet @('build', $simulator, '-c', $Configuration) | Out-Host
    # ArgumentList, one entry per argument: PowerShell binds an object[] to the (string, string) constructor, joined with
    # spaces and unquoted, so a repository path with a space in it would split --project.
    $psi = [System.Diagnostics.ProcessStartInfo]::new('dotnet')
    foreach ($argument in 'run', '--no-build', '-c', $Configuration, '--project', $simulator, '--', '--port', '0', '--job-seconds', '3') { $psi.ArgumentList.Add($argument) }
    $psi.RedirectStandardOutput = $true
    $psi.UseShellExecute = $false
    $process = [System.Diagnostics.Process]::Start($psi)
    # dotnet may print build lines first: read until the simulator's own first line (or give up after 200 lines, or
    # after 60 s without a line: a simulator that hangs before printing must not hang the build).
    $line = $null
    for ($i = 0; $i -lt 200; $i++) {
        $pending = $process.StandardOutput.ReadLineAsync()
        if (-not $pending.Wait([TimeSpan]::FromSeconds(60))) { $line = '(nothing printed for 60 s)'; break }
        $line = $pending.Result
        if ($null -eq $line -or $line -match 'listening on (http://127\.0\.0\.1:\d+/)') { break }
    }
    if ($line -notmatch 'listening on (http://127\.0\.0\.1:\d+/)') { $process.Kill($true); throw "Simulator did not start: $line" }
    [pscustomobject]@{ Process = $process; BaseUri = $Matches[1] }
}

switch ($Task) {
    'Build' { Invoke-Build }
    'Package' { Invoke-Package }
    'Test' {
        if (-not $SkipDotnetTest) { Invoke-Native dotnet @('test', (Join-Path $root 'BackupTools.sln'), '-c', $Configuration) }
        $package = Invoke-Package
        $pester = Get-TestPester
        $simulator = Start-Simulator
        try {
            # A child pwsh: the module DLL is loaded there, never into this session.
            $script = @"
`$env:BACKUPTOOLS_MODULE = '$($package.Replace("'", "''"))'
`$env:BACKUPTOOLS_SIMULATOR = '$($simulator.BaseUri)'
Import-Module '$($pester.Replace("'", "''"))'
`$config = New-PesterConfiguration
`$config.Run.Path = '$((Join-Path $root 'tests/Pester').Replace("'", "''"))'
`$config.Run.Exit = `$true
`$config.Output.Verbosity = 'Detailed'
Invoke-Pester -Configuration `$config
"@
            Invoke-Native $pwsh ($pwshPrefix + @('-NoProfile', '-NonInteractive', '-Command', $script))
        }
        finally {
            $simulator.Process.Kill($true)
        }
    }
    'Demo' {
        $package = Invoke-Package
        $simulator = Start-Simulator
        try {
            Invoke-Native $pwsh ($pwshPrefix + @('-NoProfile', '-File', (Join-Path $root 'demo/Demo.ps1'), '-ModulePath', $package, '-SimulatorUri', $simulator.BaseUri))
        }
        finally {
            $simulator.Process.Kill($true)
        }
    }
}
