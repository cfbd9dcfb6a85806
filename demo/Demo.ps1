<#
.SYNOPSIS
    A short runbook against the simulator: back up instances on all five services, wait with progress, show the
    outcome, and handle one failure with try/catch.
.NOTES
    Run it against a fresh simulator (./build.ps1 -Task Demo starts one; by hand, POST {SimulatorUri}_sim/reset
    first): its backup names are fixed, and DDS and ArcGIS take a backup name only once.
#>
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $SimulatorUri
)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $ModulePath 'BackupTools.psd1')

$token = ConvertTo-SecureString 'sim-token' -AsPlainText -Force
$passcode = ConvertTo-SecureString 'demo-passcode-1' -AsPlainText -Force
$project = '0123456789abcdef0123456789abcdef'
Connect-BackupService -Provider TaurusDB -Endpoint "${SimulatorUri}taurusdb/" -ProjectId $project -AccessToken $token | Out-Null
Connect-BackupService -Provider DDS -Endpoint "${SimulatorUri}dds/" -ProjectId $project -AccessToken $token | Out-Null
Connect-BackupService -Provider Dataverse -Endpoint "${SimulatorUri}dataverse/" -AccessToken $token | Out-Null
Connect-BackupService -Provider ArcGIS -Endpoint "${SimulatorUri}arcgis/" -AccessToken $token | Out-Null
Connect-BackupService -Provider CloudFoundry -Endpoint "${SimulatorUri}cf/" -AccessToken $token | Out-Null
Get-BackupProvider | Format-Table

$instances = @(
    [pscustomobject]@{ Provider = 'TaurusDB'; InstanceId = '0123456789abcdef0123456789abcdefin07'; Name = 'orders-nightly' }
    [pscustomobject]@{ Provider = 'TaurusDB'; InstanceId = '1123456789abcdef0123456789abcdefin07'; Name = 'billing-nightly' }
    [pscustomobject]@{ Provider = 'DDS'; InstanceId = '0123456789abcdef0123456789abcdefin02'; Name = 'catalog-nightly'; Description = 'demo' }
    [pscustomobject]@{ Provider = 'Dataverse'; InstanceId = '6f1c2b9e-3f5d-4a7b-9c2e-8d4b1a0e7c31'; Name = 'crm-nightly' }
    [pscustomobject]@{ Provider = 'CloudFoundry'; InstanceId = '0b4f2c1a-9d3e-4f5a-8b7c-6d5e4f3a2b1c' }
)

Write-Host "Starting $($instances.Count + 1) backups on five services and waiting for them..."
$jobs = @(
    $instances | New-InstanceBackup -ThrottleLimit 4
    New-DisasterRecoveryBackup -Name 'portal-dr' -Passcode $passcode -RetentionPeriod 30
)
$jobs | Wait-BackupJob -Timeout 120 | Format-Table

Write-Host 'A backup that fails on the service, handled with try/catch:'
try {
    New-InstanceBackup -Provider DDS -InstanceId '0123456789abcdef0123456789abcdefin02' -Name 'fail-demo' |
        Wait-BackupJob -Timeout 60 -ErrorAction Stop | Out-Null
}
catch {
    Write-Host "Caught $($_.FullyQualifiedErrorId): $($_.Exception.Message)"
}
