<#
.SYNOPSIS
    A short runbook against the simulator: back up instances on several services, wait with progress, show the
    outcome, and handle one failure with try/catch.
#>
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $SimulatorUri
)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $ModulePath 'BackupTools.psd1')

$token = ConvertTo-SecureString 'sim-token' -AsPlainText -Force
$project = '0123456789abcdef0123456789abcdef'
Connect-BackupService -Provider TaurusDB -Endpoint "${SimulatorUri}taurusdb/" -ProjectId $project -AccessToken $token | Out-Null
Connect-BackupService -Provider DDS -Endpoint "${SimulatorUri}dds/" -ProjectId $project -AccessToken $token | Out-Null

$instances = @(
    [pscustomobject]@{ Provider = 'TaurusDB'; InstanceId = '0123456789abcdef0123456789abcdefin07'; Name = 'orders-nightly' }
    [pscustomobject]@{ Provider = 'TaurusDB'; InstanceId = '1123456789abcdef0123456789abcdefin07'; Name = 'billing-nightly' }
    [pscustomobject]@{ Provider = 'DDS'; InstanceId = '0123456789abcdef0123456789abcdefin02'; Name = 'catalog-nightly'; Description = 'demo' }
)

Write-Host "Starting $($instances.Count) backups and waiting for them..."
$instances | New-InstanceBackup | Wait-BackupJob -Timeout 60 | Format-Table

Write-Host 'A backup that fails on the service, handled with try/catch:'
try {
    New-InstanceBackup -Provider DDS -InstanceId '0123456789abcdef0123456789abcdefin02' -Name 'fail-demo' |
        Wait-BackupJob -Timeout 60 -ErrorAction Stop | Out-Null
}
catch {
    Write-Host "Caught $($_.FullyQualifiedErrorId): $($_.Exception.Message)"
}
