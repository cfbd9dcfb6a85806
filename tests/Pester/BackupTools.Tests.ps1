#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.5.0' }
# The module as a PowerShell user meets it, against the simulator. Pester 5 syntax.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSetup.ps1')
    $script:ModulePath = Get-TestModulePath
    $script:Sim = Start-TestSimulator
    # Connections of an earlier run in this session (the store outlives Remove-Module) would make a default ambiguous.
    Remove-Variable -Name BackupToolsConnectionStore -Scope Global -ErrorAction Ignore
    Import-Module (Join-Path $script:ModulePath 'BackupTools.psd1') -Force
    $script:Token = ConvertTo-SecureString 'sim-token' -AsPlainText -Force
    $script:Project = '0123456789abcdef0123456789abcdef'
    $script:Taurus = '0123456789abcdef0123456789abcdefin07'
    $script:Dds = '0123456789abcdef0123456789abcdefin02'
}

AfterAll {
    Remove-Module BackupTools -ErrorAction SilentlyContinue
    Stop-TestSimulator $script:Sim
}

Describe 'BackupTools' {
    BeforeEach {
        Reset-Simulator $script:Sim.BaseUri
        $null = Connect-BackupService -Provider TaurusDB -Endpoint "$($script:Sim.BaseUri)taurusdb/" -ProjectId $script:Project -AccessToken $script:Token
        $null = Connect-BackupService -Provider DDS -Endpoint "$($script:Sim.BaseUri)dds/" -ProjectId $script:Project -AccessToken $script:Token
    }

    Context 'Connect-BackupService' {
        It 'returns a connection that shows no secret' {
            $c = Connect-BackupService -Provider DDS -Endpoint "$($script:Sim.BaseUri)dds/" -ProjectId $script:Project -AccessToken $script:Token
            $c.Provider | Should -Be 'DDS'
            $c.AuthenticationMethod | Should -Be 'AccessToken'
            ($c | ConvertTo-Json -Depth 5) | Should -Not -Match 'sim-token'
            $file = Join-Path $TestDrive 'connection.xml'
            $c | Export-Clixml -Path $file
            Get-Content -Raw $file | Should -Not -Match 'sim-token'
        }

        It 'refuses plain http to a remote host' {
            { Connect-BackupService -Provider DDS -Endpoint 'http://dds.eu-de.otc.t-systems.com' -ProjectId $script:Project -AccessToken $script:Token } |
                Should -Throw -ErrorId 'ConnectionEndpointInvalid,BackupTools.Commands.ConnectBackupServiceCommand'
        }
    }

    Context 'New-InstanceBackup and Wait-BackupJob' {
        It 'backs up instances from a CSV and waits for them' {
            $csv = Join-Path $TestDrive 'instances.csv'
            @(
                [pscustomobject]@{ Provider = 'TaurusDB'; InstanceId = $script:Taurus; Name = 'csv-taurus'; Description = 'from csv' }
                [pscustomobject]@{ Provider = 'DDS'; InstanceId = $script:Dds; Name = 'csv-dds'; Description = 'from csv' }
            ) | Export-Csv -Path $csv -NoTypeInformation
            $out = Join-Path $TestDrive 'results.csv'
            Import-Csv $csv | New-InstanceBackup | Wait-BackupJob -PollingInterval 0.1 -Timeout 60 |
                Select-Object Provider, BackupName, State | Export-Csv -Path $out -NoTypeInformation
            $rows = Import-Csv $out
            $rows.Count | Should -Be 2
            $rows.State | Should -Be @('Succeeded', 'Succeeded')
        }

        It '-WhatIf sends nothing' {
            # No error either: a refused input or a missing connection also sends nothing and writes nothing.
            New-InstanceBackup -Provider DDS -InstanceId $script:Dds -Name 'whatif-run' -WhatIf -ErrorVariable whatIfErrors -ErrorAction SilentlyContinue |
                Should -BeNullOrEmpty
            $whatIfErrors | Should -BeNullOrEmpty
            (Get-SimulatorCounters $script:Sim.BaseUri).totalRequests | Should -Be 0
        }

        It 'refuses a name that breaks the rule, naming it, before sending' {
            { New-InstanceBackup -Provider TaurusDB -InstanceId $script:Taurus -Name '1-starts-with-digit' -ErrorAction Stop } |
                Should -Throw -ErrorId 'BackupParameterInvalid,BackupTools.Commands.NewInstanceBackupCommand' -ExpectedMessage "*'1-starts-with-digit'*"
            (Get-SimulatorCounters $script:Sim.BaseUri).totalRequests | Should -Be 0
        }

        It 'raises a failed job as an error that try/catch sees' {
            $caught = $null
            try {
                New-InstanceBackup -Provider TaurusDB -InstanceId $script:Taurus -Name 'fail-pester' |
                    Wait-BackupJob -PollingInterval 0.1 -Timeout 60 -ErrorAction Stop
            }
            catch { $caught = $_ }
            $caught | Should -Not -BeNullOrEmpty
            $caught.FullyQualifiedErrorId | Should -BeLike 'BackupJobFailed,*'
            $caught.TargetObject.State | Should -Be 'Failed'
        }

        It 'keeps nothing and warns of nothing when the caught error carries the failed job' {
            # The job whose own error stopped the command reached the user as the error's TargetObject. The module's
            # warning about jobs that may not have reached the user goes to the host, which Pester does not capture:
            # the body runs in a child PowerShell whose whole output, host lines included, is read back. Its first
            # host line is a control: were host lines not captured, that assertion fails rather than the last passing
            # for nothing.
            $manifest = (Join-Path $script:ModulePath 'BackupTools.psd1').Replace("'", "''")
            $child = @"
Import-Module '$manifest'
`$t = ConvertTo-SecureString 'sim-token' -AsPlainText -Force
`$null = Connect-BackupService -Provider TaurusDB -Endpoint '$($script:Sim.BaseUri)taurusdb/' -ProjectId '$($script:Project)' -AccessToken `$t
`$host.UI.WriteWarningLine('control: host lines are captured')
try {
    New-InstanceBackup -InstanceId '$($script:Taurus)' -Name 'fail-caught' | Wait-BackupJob -PollingInterval 0.1 -Timeout 60 -ErrorAction Stop
}
catch { 'caught: ' + `$_.FullyQualifiedErrorId }
'kept: ' + [bool]`$global:BackupToolsUnwrittenJobs
"@
            $text = (& (Get-TestPowerShell) -NoProfile -NonInteractive -Command $child 2>&1 | ForEach-Object { "$_" }) -join [Environment]::NewLine
            $text | Should -Match 'control: host lines are captured'
            $text | Should -Match 'caught: BackupJobFailed,'
            $text | Should -Match 'kept: False'
            $text | Should -Not -Match 'were not written|may not have reached you'
        }

        It 'uses the connection piped to it, not the one made last' {
            $a = Connect-BackupService -Provider DDS -Endpoint "$($script:Sim.BaseUri)dds/" -ProjectId $script:Project -AccessToken $script:Token
            $null = Connect-BackupService -Provider DDS -Endpoint "$($script:Sim.BaseUri)dds/" -ProjectId 'fedcba9876543210fedcba9876543210' -AccessToken $script:Token
            $job = $a | New-InstanceBackup -InstanceId $script:Dds -Name 'piped-conn'
            $job.Scope | Should -Be $script:Project
        }

        It 'refuses a DDS name repeated in one command before sending it' {
            $rows = @(
                [pscustomobject]@{ Provider = 'DDS'; InstanceId = $script:Dds; Name = 'twice-dds' }
                [pscustomobject]@{ Provider = 'DDS'; InstanceId = $script:Dds; Name = 'twice-dds' }
            )
            $jobs = $rows | New-InstanceBackup -ErrorVariable dupErrors -ErrorAction SilentlyContinue
            @($jobs).Count | Should -Be 1
            $dupErrors[0].FullyQualifiedErrorId | Should -BeLike 'BackupParameterInvalid,*'
            (Get-SimulatorCounters $script:Sim.BaseUri).totalCreates | Should -Be 1
        }

        It 'writes the job and a timeout error when time runs out' {
            $jobDurationMs = (Invoke-RestMethod -Uri "$($script:Sim.BaseUri)_sim/options").jobDurationMs
            Invoke-RestMethod -Method Post -Uri "$($script:Sim.BaseUri)_sim/options" -ContentType 'application/json' -Body '{"jobDurationMs":600000}' | Out-Null
            try {
                $job = New-InstanceBackup -Provider DDS -InstanceId $script:Dds -Name 'long-runner' |
                    Wait-BackupJob -Timeout 1 -PollingInterval 0.1 -ErrorVariable waitErrors -ErrorAction SilentlyContinue
                $job.State | Should -Be 'Running'
                $waitErrors[0].FullyQualifiedErrorId | Should -BeLike 'BackupJobTimeout,*'
            }
            finally {
                Invoke-RestMethod -Method Post -Uri "$($script:Sim.BaseUri)_sim/options" -ContentType 'application/json' -Body (@{ jobDurationMs = $jobDurationMs } | ConvertTo-Json -Compress) | Out-Null
            }
        }

        It 'waits on a job exported to Clixml and imported again' {
            $file = Join-Path $TestDrive 'job.xml'
            New-InstanceBackup -Provider TaurusDB -InstanceId $script:Taurus -Name 'saved-job' | Export-Clixml -Path $file
            $done = Import-Clixml -Path $file | Wait-BackupJob -PollingInterval 0.1 -Timeout 60
            $done.State | Should -Be 'Succeeded'
            $done | Should -BeOfType ([BackupTools.BackupJob])
        }

        It 'waits on a job in another process' {
            $file = Join-Path $TestDrive 'job2.xml'
            New-InstanceBackup -Provider DDS -InstanceId $script:Dds -Name 'other-process' | Export-Clixml -Path $file
            # Paths go into single-quoted literals of the child's command: a ' in them (C:\Users\O'Brien\...) is doubled.
            $manifest = (Join-Path $script:ModulePath 'BackupTools.psd1').Replace("'", "''")
            $endpoint = "$($script:Sim.BaseUri)dds/".Replace("'", "''")
            $fileText = $file.Replace("'", "''")
            $command = "Import-Module '$manifest'; `$t = ConvertTo-SecureString 'sim-token' -AsPlainText -Force; " +
                "`$null = Connect-BackupService -Provider DDS -Endpoint '$endpoint' -ProjectId '$($script:Project)' -AccessToken `$t; " +
                "(Import-Clixml '$fileText' | Wait-BackupJob -PollingInterval 0.1 -Timeout 60).State"
            $state = & (Get-TestPowerShell) -NoProfile -NonInteractive -Command $command
            $LASTEXITCODE | Should -Be 0 -Because 'the other process must import, connect and wait without an error'
            $state | Should -Be 'Succeeded'
        }

        It 'works inside ForEach-Object -Parallel with a connection passed in' -Skip:($PSVersionTable.PSVersion.Major -lt 7) {
            $connection = Connect-BackupService -Provider DDS -Endpoint "$($script:Sim.BaseUri)dds/" -ProjectId $script:Project -AccessToken $script:Token
            $manifest = Join-Path $script:ModulePath 'BackupTools.psd1'
            $instance = $script:Dds
            $states = 1..3 | ForEach-Object -ThrottleLimit 3 -Parallel {
                Import-Module $using:manifest
                New-InstanceBackup -Connection $using:connection -InstanceId $using:instance -Name "parallel-$_" |
                    Wait-BackupJob -Connection $using:connection -PollingInterval 0.1 -Timeout 60 |
                    ForEach-Object State
            }
            $states | Should -Be @('Succeeded', 'Succeeded', 'Succeeded')
        }

        It 'works in a thread job with a connection passed in' -Skip:(-not (Get-Command Start-ThreadJob -ErrorAction SilentlyContinue)) {
            $connection = Connect-BackupService -Provider TaurusDB -Endpoint "$($script:Sim.BaseUri)taurusdb/" -ProjectId $script:Project -AccessToken $script:Token
            $manifest = Join-Path $script:ModulePath 'BackupTools.psd1'
            $instance = $script:Taurus
            $state = Start-ThreadJob {
                Import-Module $using:manifest
                (New-InstanceBackup -Connection $using:connection -InstanceId $using:instance -Name 'thread-job' |
                    Wait-BackupJob -Connection $using:connection -PollingInterval 0.1 -Timeout 60).State
            } | Receive-Job -Wait -AutoRemoveJob
            $state | Should -Be 'Succeeded'
        }

        It 'keeps the jobs it could not write when an upstream command fails' {
            # Both creates are answered while the upstream command sleeps; it then fails, and the pipeline ends before
            # New-InstanceBackup can write them: they are kept in $BackupToolsUnwrittenJobs (and a host warning says so).
            # A job it wrote before the failure is kept there too: the command was stopped on the way.
            $global:BackupToolsUnwrittenJobs = $null
            $rows = {
                [pscustomobject]@{ Provider = 'TaurusDB'; InstanceId = $script:Taurus; Name = 'upstream-1' }
                [pscustomobject]@{ Provider = 'TaurusDB'; InstanceId = $script:Taurus; Name = 'upstream-2' }
                Start-Sleep -Seconds 2
                throw 'upstream failed'
            }
            $written = [System.Collections.Generic.List[object]]::new()
            try {
                { & $rows | New-InstanceBackup -ThrottleLimit 4 | ForEach-Object { $written.Add($_) } } | Should -Throw -ExpectedMessage '*upstream failed*'
                # Row 1's answer may be written while row 2 is taken; both are kept, written or not, and none is lost.
                @($global:BackupToolsUnwrittenJobs | ForEach-Object BackupName | Sort-Object) | Should -Be @('upstream-1', 'upstream-2')
                # Every job the command did write is among the kept ones (the assignment of a stopped statement is lost).
                foreach ($name in @($written | ForEach-Object BackupName)) {
                    @($global:BackupToolsUnwrittenJobs | ForEach-Object BackupName) | Should -Contain $name
                }
                (Get-SimulatorCounters $script:Sim.BaseUri).totalCreates | Should -Be 2
            }
            finally {
                $global:BackupToolsUnwrittenJobs = $null
            }
        }

        It 'shows HTTP calls with -Verbose and never the token' {
            $verbose = New-InstanceBackup -Provider DDS -InstanceId $script:Dds -Name 'verbose-run' -Verbose 4>&1 |
                Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
            ($verbose.Message -join "`n") | Should -Match 'HTTP POST'
            ($verbose.Message -join "`n") | Should -Not -Match 'sim-token'
        }
    }

    Context 'Views' {
        It 'formats a job as a table that fits 80 columns, and shows the whole instance id when wider' {
            $job = New-InstanceBackup -Provider DDS -InstanceId $script:Dds -Name 'view-check'
            $text = $job | Format-Table | Out-String -Width 80
            # Format-Table never writes past the width it is given: it drops or cuts columns instead, so the check is
            # that every column's header is still there at 80 columns.
            $text | Should -Match 'Provider\s+BackupName\s+State\s+%\s+Elapsed\s+InstanceId'
            ($text -split "`n" | ForEach-Object { $_.TrimEnd().Length } | Measure-Object -Maximum).Maximum | Should -BeLessOrEqual 80
            # The instance id is the last column and takes what is left.
            $job | Format-Table | Out-String -Width 120 | Should -Match ([regex]::Escape($script:Dds))
        }
    }

    Context 'The other three services' {
        BeforeEach {
            $null = Connect-BackupService -Provider Dataverse -Endpoint "$($script:Sim.BaseUri)dataverse/" -AccessToken $script:Token
            $null = Connect-BackupService -Provider ArcGIS -Endpoint "$($script:Sim.BaseUri)arcgis/" -AccessToken $script:Token
            $null = Connect-BackupService -Provider CloudFoundry -Endpoint "$($script:Sim.BaseUri)cf/" -AccessToken $script:Token
            $script:Passcode = ConvertTo-SecureString 'pester-passcode-1' -AsPlainText -Force
        }

        It 'backs up a Dataverse environment with -Label and -Notes' {
            $job = New-InstanceBackup -Provider Dataverse -InstanceId ([guid]::NewGuid().Guid) -Label 'pester-label' -Notes 'from Pester' |
                Wait-BackupJob -PollingInterval 0.1 -Timeout 60
            $job.State | Should -Be 'Succeeded'
            $job.BackupName | Should -Be 'pester-label'
        }

        It 'backs up a Cloud Foundry service instance by -ServiceInstanceGuid' {
            $job = New-InstanceBackup -Provider CloudFoundry -ServiceInstanceGuid ([guid]::NewGuid().Guid) |
                Wait-BackupJob -PollingInterval 0.1 -Timeout 60
            $job.State | Should -Be 'Succeeded'
        }

        It 'takes an ArcGIS disaster-recovery backup in the default store and never shows the passcode' {
            # No -Provider: the session's one connection to a service offering disaster-recovery backups is taken.
            # Verbose of both commands is merged after the pipeline, so it never reaches Wait-BackupJob as input.
            $all = & {
                New-DisasterRecoveryBackup -Name 'pester-dr' -Passcode $script:Passcode -RetentionPeriod 7 -Verbose |
                    Wait-BackupJob -PollingInterval 0.1 -Timeout 60 -Verbose
            } 4>&1
            $job = $all | Where-Object { $_ -is [BackupTools.BackupJob] }
            $job.State | Should -Be 'Succeeded'
            ($all | Out-String) | Should -Not -Match 'pester-passcode-1'
            ($job | ConvertTo-Json -Depth 5) | Should -Not -Match 'pester-passcode-1'
        }

        It 'refuses a short passcode before sending' {
            $short = ConvertTo-SecureString 'short' -AsPlainText -Force
            { New-DisasterRecoveryBackup -Provider ArcGIS -Name 'pester-short' -Passcode $short -ErrorAction Stop } |
                Should -Throw -ErrorId 'BackupParameterInvalid,BackupTools.Commands.NewDisasterRecoveryBackupCommand'
            # Nothing at all: not even the default store's lookup that a real backup without -StoreName makes first.
            (Get-SimulatorCounters $script:Sim.BaseUri).totalRequests | Should -Be 0
        }

        It '-WhatIf on New-DisasterRecoveryBackup sends nothing' {
            New-DisasterRecoveryBackup -Provider ArcGIS -Name 'pester-whatif' -Passcode $script:Passcode -WhatIf -ErrorVariable whatIfErrors -ErrorAction SilentlyContinue |
                Should -BeNullOrEmpty
            $whatIfErrors | Should -BeNullOrEmpty
            (Get-SimulatorCounters $script:Sim.BaseUri).totalRequests | Should -Be 0
        }

        It 'waits on jobs of all five services in one call' {
            $jobs = @(
                New-InstanceBackup -Provider TaurusDB -InstanceId $script:Taurus -Name 'five-taurus'
                New-InstanceBackup -Provider DDS -InstanceId $script:Dds -Name 'five-dds'
                New-InstanceBackup -Provider Dataverse -InstanceId ([guid]::NewGuid().Guid) -Label 'five-dataverse'
                New-InstanceBackup -Provider CloudFoundry -ServiceInstanceGuid ([guid]::NewGuid().Guid)
                New-DisasterRecoveryBackup -Provider ArcGIS -Name 'five-arcgis' -Passcode $script:Passcode
            )
            $done = $jobs | Wait-BackupJob -PollingInterval 0.1 -Timeout 60
            ($done.Provider | Sort-Object) | Should -Be @('ArcGIS', 'CloudFoundry', 'Dataverse', 'DDS', 'TaurusDB')
            $done.State | Sort-Object -Unique | Should -Be 'Succeeded'
        }
    }

    Context 'Help' {
        It 'has a synopsis, a description and examples for <_>' -ForEach @(
            'Connect-BackupService', 'New-InstanceBackup', 'New-DisasterRecoveryBackup', 'Get-BackupJob', 'Wait-BackupJob', 'Get-BackupProvider'
        ) {
            $name = $_
            $help = Get-Help $name -Full
            $help.Synopsis | Should -Not -BeNullOrEmpty
            $help.Synopsis | Should -Not -Match '^\s*\S+-\S+ \['
            ($help.Description.Text -join '') | Should -Not -BeNullOrEmpty
            @($help.Examples.Example).Count | Should -BeGreaterOrEqual 2
            foreach ($parameter in (Get-Command $name).Parameters.Keys | Where-Object { $_ -notin [System.Management.Automation.Cmdlet]::CommonParameters -and $_ -notin [System.Management.Automation.Cmdlet]::OptionalCommonParameters }) {
                ($help.Parameters.Parameter | Where-Object Name -EQ $parameter).Description | Should -Not -BeNullOrEmpty -Because "-$parameter needs help"
            }
        }

        It 'has about_BackupTools' {
            Get-Help about_BackupTools | Out-String | Should -Match 'BackupJobTimeout'
        }
    }

    Context 'Completion' {
        It 'completes provider names and regions' {
            (TabExpansion2 -inputScript 'Connect-BackupService -Provider Tau' -cursorColumn 35).CompletionMatches.CompletionText | Should -Contain 'TaurusDB'
            $line = 'Connect-BackupService -Provider DDS -Region eu-'
            (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Contain 'eu-de'
        }
    }

    Context 'Get-BackupProvider' {
        It 'lists the providers' {
            (Get-BackupProvider).Name | Should -Contain 'TaurusDB'
            (Get-BackupProvider).Name | Should -Contain 'DDS'
            (Get-BackupProvider).Count | Should -Be 5
        }
    }
}
