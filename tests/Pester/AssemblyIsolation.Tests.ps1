#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.5.0' }
# The packaged module next to a conflicting Microsoft.Extensions.Http (where IHttpClientFactory lives), loaded before and after it, each in a
# fresh pwsh so nothing of one case leaks into the other.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    $script:ModulePath = Get-TestModulePath
    $script:Sim = Start-TestSimulator
    # A different version of an assembly the module ships: the one that Microsoft.PowerShell.* does not carry.
    $nugetRoot = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages' }
    # The build this PowerShell can load: net8.0 on PowerShell 7 (.NET 8 and later), net462 or netstandard2.0 on
    # Windows PowerShell 5.1 (.NET Framework cannot load a net8.0 assembly; Get-ChildItem lists net8.0 first).
    $frameworks = if ($PSVersionTable.PSEdition -eq 'Core') { 'net8\.0' } else { 'net462|netstandard2\.0' }
    function Find-Conflicting {
        Get-ChildItem -Path (Join-Path $nugetRoot 'microsoft.extensions.http') -Filter Microsoft.Extensions.Http.dll -Recurse -ErrorAction SilentlyContinue |
            Where-Object { $_.FullName -match "[\\/]8\.0\.\d+[\\/]lib[\\/]($frameworks)[\\/]" } |
            Select-Object -First 1 -ExpandProperty FullName
    }
    $script:Conflicting = Find-Conflicting
    if (-not $script:Conflicting) {
        # Only tests/BackupTools.PackageHost references it: a clone that never restored the solution has it after this.
        $script:RestoreLog = & dotnet restore (Join-Path $script:RepoRoot 'tests/BackupTools.PackageHost/BackupTools.PackageHost.csproj') 2>&1
        $script:Conflicting = Find-Conflicting
    }

    # A literal for the child's script: single-quoted, with any ' in it doubled.
    function ConvertTo-Literal([string] $Text) { "'" + $Text.Replace("'", "''") + "'" }

    function Invoke-Case([string] $Order) {
        if (-not $script:Conflicting) { throw "No Microsoft.Extensions.Http 8.0 in the NuGet cache, even after restoring tests/BackupTools.PackageHost:$([Environment]::NewLine)$($script:RestoreLog -join [Environment]::NewLine)" }
        $manifest = Join-Path $script:ModulePath 'BackupTools.psd1'
        # Windows PowerShell's Add-Type -Path lists the assembly's types, which fails (ReflectionTypeLoadException) for a
        # DLL taken from the NuGet cache, whose dependencies sit in other packages' folders; PowerShell 7's only loads
        # it. Assembly.LoadFrom loads it into the same place without listing its types.
        $loadConflict = if ($PSVersionTable.PSEdition -eq 'Desktop') { "[void][System.Reflection.Assembly]::LoadFrom($(ConvertTo-Literal $script:Conflicting))" }
                        else { "Add-Type -Path $(ConvertTo-Literal $script:Conflicting)" }
        $importModule = "Import-Module $(ConvertTo-Literal $manifest)"
        $first, $second = if ($Order -eq 'ConflictFirst') { $loadConflict, $importModule } else { $importModule, $loadConflict }
        # A name of its own for each run: DDS takes a backup name once per project, and the simulator is not reset here.
        $name = 'isolation-{0}-{1}' -f $Order, [guid]::NewGuid().ToString('N').Substring(0, 8)
        $modulePattern = ConvertTo-Literal ([System.Management.Automation.WildcardPattern]::Escape($script:ModulePath) + '*')
        $script = @"
`$ErrorActionPreference = 'Stop'
$first
$second
`$t = ConvertTo-SecureString 'sim-token' -AsPlainText -Force
`$null = Connect-BackupService -Provider DDS -Endpoint '$($script:Sim.BaseUri)dds/' -ProjectId '0123456789abcdef0123456789abcdef' -AccessToken `$t
`$job = New-InstanceBackup -InstanceId '0123456789abcdef0123456789abcdefin02' -Name '$name' | Wait-BackupJob -PollingInterval 0.1 -Timeout 60
`$inDefault = if (`$PSVersionTable.PSEdition -eq 'Core') {
    [System.Runtime.Loader.AssemblyLoadContext]::Default.Assemblies |
        Where-Object { `$_.GetName().Name -like 'Microsoft.Extensions.*' -and `$_.Location -like $modulePattern }
}
[pscustomobject]@{ State = [string]`$job.State; ModuleCopiesInDefault = @(`$inDefault).Count; CoreLocation = [BackupTools.BackupJob].Assembly.Location } | ConvertTo-Json -Compress
"@
        $output = & (Get-TestPowerShell) @(Get-TestPowerShellPrefix) -NoProfile -NonInteractive -Command $script
        # A failing child writes its error to this console and nothing to the pipeline: say so rather than compare $null.
        if ($LASTEXITCODE -ne 0) { throw "The child PowerShell ($Order) ended with exit code ${LASTEXITCODE}: $($output -join [Environment]::NewLine)" }
        $output | Select-Object -Last 1 | ConvertFrom-Json
    }
}

AfterAll {
    Stop-TestSimulator $script:Sim
}

Describe 'Loading next to other modules' {
    It 'has a conflicting Microsoft.Extensions.Http 8.0 to test with' {
        $script:Conflicting | Should -Not -BeNullOrEmpty -Because 'dotnet restore of the solution puts it in the NuGet cache (tests/BackupTools.PackageHost references it)'
    }

    It 'backs up when the conflicting version was loaded <_>' -ForEach @('ConflictFirst', 'ModuleFirst') {
        $result = Invoke-Case $_
        $result.State | Should -Be 'Succeeded'
        $result.ModuleCopiesInDefault | Should -Be 0
    }

    It 'loads the engine precompiled for this runtime and platform where the package has a copy, else its IL copy' {
        $result = Invoke-Case 'ModuleFirst'
        $expected = Join-Path $script:ModulePath 'dependencies'
        if ($PSVersionTable.PSEdition -eq 'Core') {
            $os = if ($IsWindows) { 'win' } elseif ($IsLinux) { 'linux' } elseif ($IsMacOS) { 'osx' } else { 'other' }
            $rid = '{0}-{1}' -f $os, [System.Runtime.InteropServices.RuntimeInformation]::ProcessArchitecture.ToString().ToLowerInvariant()
            $precompiled = Join-Path $script:ModulePath ('dependencies/net{0}.0/{1}' -f [Environment]::Version.Major, $rid)
            # The module takes that folder only when it holds both the engine and its loader.
            if ((Test-Path (Join-Path $precompiled 'BackupTools.Core.dll')) -and (Test-Path (Join-Path $precompiled 'BackupTools.Isolation.dll'))) { $expected = $precompiled }
        }
        [System.IO.Path]::GetDirectoryName($result.CoreLocation) | Should -Be ([System.IO.Path]::GetFullPath($expected).TrimEnd([char[]]'\/'))
    }

    It 'keeps third-party assemblies out of the module root' {
        (Get-ChildItem -Path $script:ModulePath -Filter *.dll).Name | Should -Be @('BackupTools.dll')
        Join-Path $script:ModulePath 'dependencies/BackupTools.Core.dll' | Should -Exist
    }
}
