#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.5.0' }
# A runbook run unattended in a real pwsh process (pwsh -NonInteractive -File), ended by a signal as a scheduler or CI
# ends it: what its log keeps of the backups it started. Only a real process shows this (the xunit suite hosts the
# engine in its own process, where no signal ends anything). Pester 5 syntax; the signal cases need a Unix kill.

BeforeDiscovery {
    # SIGINT is only delivered to a child whose parent does not ignore it (a shell's background job ignores it, and
    # its children inherit that): read from this process's own ignored signals, where Linux shows them.
    $script:SigintIgnored = $true
    if (Test-Path "/proc/$PID/status") {
        $line = Select-String -Path "/proc/$PID/status" -Pattern '^SigIgn:\s*([0-9a-f]+)' | Select-Object -First 1
        if ($line) { $script:SigintIgnored = ([Convert]::ToUInt64($line.Matches[0].Groups[1].Value, 16) -band 2) -ne 0 }
    }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    $script:ModulePath = Get-TestModulePath
    $script:Sim = Start-TestSimulator
    $script:Project = '0123456789abcdef0123456789abcdef'
    $script:Taurus = '0123456789abcdef0123456789abcdefin07'
    $script:JobDurationMs = (Invoke-RestMethod -Uri "$($script:Sim.BaseUri)_sim/options").jobDurationMs

    # Starts the runbook in a child pwsh, waits until its wait has read both jobs, sends the signal, and returns what
    # the child wrote to stdout and stderr and its exit code.
    function Invoke-SignalledRunbook([string] $Signal, [string] $Tag) {
        $manifest = (Join-Path $script:ModulePath 'BackupTools.psd1').Replace("'", "''")
        $endpoint = "$($script:Sim.BaseUri)taurusdb/".Replace("'", "''")
        $file = Join-Path $TestDrive "runbook-$Tag.ps1"
        Set-Content -LiteralPath $file -Value @"
`$ProgressPreference = 'SilentlyContinue'
Import-Module '$manifest'
`$t = ConvertTo-SecureString 'sim-token' -AsPlainText -Force
`$null = Connect-BackupService -Provider TaurusDB -Endpoint '$endpoint' -ProjectId '$($script:Project)' -AccessToken `$t
`$done = '$Tag-1', '$Tag-2' | ForEach-Object { [pscustomobject]@{ InstanceId = '$($script:Taurus)'; Name = `$_ } } |
    New-InstanceBackup -Provider TaurusDB | Wait-BackupJob -PollingInterval 0.2
'the runbook ran to its end'
"@
        $psi = New-Object System.Diagnostics.ProcessStartInfo (Get-TestPowerShell)
        $psi.Arguments = ((@(Get-TestPowerShellPrefix) | ForEach-Object { "`"$_`" " }) -join '') + "-NoProfile -NonInteractive -File `"$file`""
        $psi.UseShellExecute = $false
        $psi.RedirectStandardOutput = $true
        $psi.RedirectStandardError = $true
        $psi.RedirectStandardInput = $true
        $process = [System.Diagnostics.Process]::Start($psi)
        try {
            $stdout = $process.StandardOutput.ReadToEndAsync()
            $stderr = $process.StandardError.ReadToEndAsync()
            # Both jobs created and read at least once each: the wait holds them.
            $deadline = (Get-Date).AddSeconds(30)
            do {
                Start-Sleep -Milliseconds 200
                $reads = @((Invoke-RestMethod -Uri "$($script:Sim.BaseUri)_sim/counters").statusReads.TaurusDB.PSObject.Properties).Count
            } while ($reads -lt 2 -and -not $process.HasExited -and (Get-Date) -lt $deadline)
            if ($process.HasExited) { throw "The runbook ended before the signal: $($stderr.Result)" }
            & kill -s $Signal $process.Id
            if (-not $process.WaitForExit(20000)) { throw "The runbook did not end within 20 s of SIG$Signal." }
            $process.WaitForExit()
            [pscustomobject]@{ Out = $stdout.Result; Err = $stderr.Result; ExitCode = $process.ExitCode }
        }
        finally {
            if (-not $process.HasExited) { $process.Kill() }
        }
    }
}

AfterAll {
    if ($script:Sim) {
        Invoke-RestMethod -Method Post -Uri "$($script:Sim.BaseUri)_sim/options" -ContentType 'application/json' -Body (@{ jobDurationMs = $script:JobDurationMs } | ConvertTo-Json -Compress) | Out-Null
    }
    Stop-TestSimulator $script:Sim
}

Describe 'A runbook ended by a signal' -Skip:($PSVersionTable.PSEdition -eq 'Desktop' -or $IsWindows) {
    BeforeEach {
        Reset-Simulator $script:Sim.BaseUri
        Invoke-RestMethod -Method Post -Uri "$($script:Sim.BaseUri)_sim/options" -ContentType 'application/json' -Body '{"jobDurationMs":60000,"notFoundWindowMs":0}' | Out-Null
    }

    It 'names each job it started on standard error when SIGTERM ends pwsh' {
        $run = Invoke-SignalledRunbook -Signal TERM -Tag 'term'
        # pwsh ends at once: no pipeline is stopped, the script's last line never runs.
        $run.Out | Should -Not -Match 'ran to its end'
        $run.Err | Should -Match 'WARNING: BackupTools: the process was ended \(SIGTERM\)'
        foreach ($name in 'term-1', 'term-2') {
            $run.Err | Should -Match ([regex]::Escape("BackupName = '$name'"))
        }
        $run.Err | Should -Match 'Wait-BackupJob -Job takes each of them as: @\{ Provider = ''TaurusDB'''
        $run.Err | Should -Not -Match 'sim-token'
        (Get-SimulatorCounters $script:Sim.BaseUri).totalCreates | Should -Be 2
    }

    It 'names each job it started in the warning when SIGINT (Ctrl+C) ends pwsh -File' -Skip:$script:SigintIgnored {
        $run = Invoke-SignalledRunbook -Signal INT -Tag 'int'
        # pwsh -File stops the pipeline and exits: $BackupToolsUnwrittenJobs goes with the process, and the host's
        # warning (standard output) is what is left in the log.
        $run.Out | Should -Not -Match 'ran to its end'
        $text = ($run.Out + $run.Err) -replace '\x1b\[[0-9;]*m', ''
        $text | Should -Match 'WARNING: .*Wait-BackupJob -Job takes each of them as: @\{'
        foreach ($name in 'int-1', 'int-2') {
            $text | Should -Match ([regex]::Escape("BackupName = '$name'"))
        }
        $text | Should -Not -Match 'sim-token'
    }
}

Describe 'A runbook stopped by an error' {
    BeforeEach {
        Reset-Simulator $script:Sim.BaseUri
        Invoke-RestMethod -Method Post -Uri "$($script:Sim.BaseUri)_sim/options" -ContentType 'application/json' -Body '{"jobDurationMs":1000,"notFoundWindowMs":0}' | Out-Null
    }

    It 'names the jobs it kept in its log when $ErrorActionPreference = ''Stop'' ends pwsh -File' {
        # The runbook form the help recommends, without a catch: the failed backup's error ends the script (exit 1)
        # and $BackupToolsUnwrittenJobs with it; the backup still running is named in the warning.
        $manifest = (Join-Path $script:ModulePath 'BackupTools.psd1').Replace("'", "''")
        $endpoint = "$($script:Sim.BaseUri)taurusdb/".Replace("'", "''")
        $options = "$($script:Sim.BaseUri)_sim/options".Replace("'", "''")
        $file = Join-Path $TestDrive 'runbook-stop.ps1'
        Set-Content -LiteralPath $file -Value @"
`$ErrorActionPreference = 'Stop'
`$ProgressPreference = 'SilentlyContinue'
Import-Module '$manifest'
`$t = ConvertTo-SecureString 'sim-token' -AsPlainText -Force
`$null = Connect-BackupService -Provider TaurusDB -Endpoint '$endpoint' -ProjectId '$($script:Project)' -AccessToken `$t
`$jobs = & {
    [pscustomobject]@{ InstanceId = '$($script:Taurus)'; Name = 'fail-stop-1' }
    `$null = Invoke-RestMethod -Method Post -Uri '$options' -ContentType 'application/json' -Body '{"jobDurationMs":60000}'
    [pscustomobject]@{ InstanceId = '$($script:Taurus)'; Name = 'stop-2' }
} | New-InstanceBackup -Provider TaurusDB
`$done = `$jobs | Wait-BackupJob -PollingInterval 0.2 -Timeout 50
'the runbook ran to its end'
"@
        $text = (& (Get-TestPowerShell) @(Get-TestPowerShellPrefix) -NoProfile -NonInteractive -File $file 2>&1 | ForEach-Object { "$_" }) -join [Environment]::NewLine
        $exitCode = $LASTEXITCODE
        $text = $text -replace '\x1b\[[0-9;]*m', ''
        $exitCode | Should -Be 1
        $text | Should -Not -Match 'ran to its end'
        $text | Should -Match 'BackupJobFailed|fail-stop-1'
        $text | Should -Match 'Wait-BackupJob -Job takes each of them as: @\{ Provider = ''TaurusDB'''
        $text | Should -Match ([regex]::Escape("BackupName = 'stop-2'"))
        (Get-SimulatorCounters $script:Sim.BaseUri).totalCreates | Should -Be 2
    }
}
