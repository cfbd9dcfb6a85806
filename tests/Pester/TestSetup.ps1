# Shared by the Pester files: finds the packaged module and a running simulator (build.ps1 -Task Test provides both
# through environment variables; run alone, this builds the package and starts the simulator itself).
$script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path

function Get-TestModulePath {
    if ($env:BACKUPTOOLS_MODULE) { return $env:BACKUPTOOLS_MODULE }
    $version = ([xml](Get-Content -Raw (Join-Path $script:RepoRoot 'Directory.Build.props'))).Project.PropertyGroup.ModuleVersion |
        Where-Object { $_ } | Select-Object -First 1
    $path = Join-Path $script:RepoRoot "out/BackupTools/$version"
    if (-not (Test-Path (Join-Path $path 'BackupTools.psd1'))) {
        & dotnet publish (Join-Path $script:RepoRoot 'src/BackupTools/BackupTools.csproj') -c Release | Out-Null
    }
    $path
}

function Start-TestSimulator {
    if ($env:BACKUPTOOLS_SIMULATOR) { return [pscustomobject]@{ BaseUri = $env:BACKUPTOOLS_SIMULATOR; Process = $null } }
    $project = Join-Path $script:RepoRoot 'src/BackupTools.Simulator/BackupTools.Simulator.csproj'
    # Arguments as one string: the constructor taking a list does not exist on Windows PowerShell 5.1's .NET Framework.
    $psi = [System.Diagnostics.ProcessStartInfo]::new('dotnet')
    $psi.Arguments = "run -c Release --project `"$project`" -- --port 0 --job-seconds 1"
    $psi.RedirectStandardOutput = $true
    $psi.UseShellExecute = $false
    $process = [System.Diagnostics.Process]::Start($psi)
    # dotnet may print build lines first: read until the simulator's own first line (or give up after 200 lines).
    $line = $null
    for ($i = 0; $i -lt 200; $i++) {
        $line = $process.StandardOutput.ReadLine()
        if ($null -eq $line -or $line -match 'listening on (http://127\.0\.0\.1:\d+/)') { break }
    }
    if ($line -notmatch 'listening on (http://127\.0\.0\.1:\d+/)') { Stop-TestSimulator ([pscustomobject]@{ Process = $process }); throw "Simulator did not start: $line" }
    [pscustomobject]@{ BaseUri = $Matches[1]; Process = $process }
}

function Stop-TestSimulator($Simulator) {
    if ($Simulator -and $Simulator.Process -and -not $Simulator.Process.HasExited) {
        # Kill(bool) (the whole tree: dotnet run and the simulator) exists on PowerShell 7 only. Kill() would stop
        # dotnet run alone and leave the simulator running: on Windows PowerShell, taskkill /T stops the tree.
        if ($PSVersionTable.PSEdition -eq 'Core') { $Simulator.Process.Kill($true) } else { & taskkill.exe /PID $Simulator.Process.Id /T /F | Out-Null }
    }
}

function Get-SimulatorCounters([string] $BaseUri) {
    Invoke-RestMethod -Uri "${BaseUri}_sim/counters"
}

function Reset-Simulator([string] $BaseUri) {
    Invoke-RestMethod -Method Post -Uri "${BaseUri}_sim/reset" | Out-Null
}
