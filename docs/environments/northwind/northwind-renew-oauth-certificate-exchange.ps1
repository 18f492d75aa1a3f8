# runbook 0.1.0: Renewal of the Skype for Business OAuthTokenIssuer certificate by a scheduled roll, environment 'northwind' (Northwind Traders).
# The Exchange Management Shell steps (4), to run on mail1.northwindtraders.com, one at a time, in the
# order of the checklist of the runbook page (the other steps run in other shells):
#   .\northwind-renew-oauth-certificate-exchange.ps1 -Preflight          read-only: what each step would do now
#   .\northwind-renew-oauth-certificate-exchange.ps1 -Step N             observe, decide, change only what the decision selects, verify
#   .\northwind-renew-oauth-certificate-exchange.ps1 -Step N -BackOut    undo what step N changed, from the state it saved
# The state is saved in -StateFolder (default: $HOME\runbook). A downloaded script is blocked
# until you run: Unblock-File -Path .\northwind-renew-oauth-certificate-exchange.ps1
# Generated from environments/northwind: do not edit.
[CmdletBinding()]
param(
    [ValidateSet('4')]
    [string] $Step,
    [switch] $BackOut,
    [switch] $Preflight,
    [string] $StateFolder = (Join-Path -Path $HOME -ChildPath 'runbook')
)
$ErrorActionPreference = 'Stop'
$StatePath = Join-Path -Path $StateFolder -ChildPath 'northwind-renew-oauth-certificate-exchange-state.xml'

function Read-RunbookState {
    if (Test-Path -LiteralPath $StatePath) {
        return Import-Clixml -LiteralPath $StatePath
    }
    return @{}
}

function Save-RunbookState {
    param([string] $Step, [hashtable] $Observed, [string] $Decision, [bool] $Changed)
    $state = Read-RunbookState
    $saved = $state[$Step]
    if ($saved -and $saved.Changed) {
        Write-Warning ('Step ' + $Step + ' changed something at ' + $saved.Time + ': that state is kept for its back-out.')
        return
    }
    $state[$Step] = @{ Observed = $Observed; Decision = $Decision; Changed = $Changed; Time = (Get-Date).ToString('o') }
    New-Item -ItemType Directory -Path $StateFolder -Force | Out-Null
    $state | Export-Clixml -LiteralPath $StatePath
    Write-Host ('Saved what step ' + $Step + ' observed in ' + $StatePath)
}

# Step 4: Exchange reads the pool's metadata again. Observe (read-only) and decide.
function Test-RunbookStep4 {
    $observed = @{ Applications = @(Get-PartnerApplication -ErrorAction Stop | Select-Object -Property Name, Enabled, AuthMetadataUrl) }
    $question = ''
    if (@($observed.Applications | Where-Object { $_.AuthMetadataUrl -eq 'https://sfb.northwindtraders.com/metadata/json/1' -and $_.Enabled }).Count -gt 0) {
        $decision = 'change'
        $reason = 'an enabled partner application has the metadata URL https://sfb.northwindtraders.com/metadata/json/1, which now lists the new certificate'
    } else {
        $decision = 'stop'
        $reason = 'no enabled partner application has the metadata URL https://sfb.northwindtraders.com/metadata/json/1'
        $question = 'Exchange does not trust this pool: the integration is not in place (procedure integration, step 7). Renew without it, or put it in place first? Decides: the Exchange administrator.'
    }
    return @{ Observed = $observed; Decision = $decision; Reason = $reason; Question = $question }
}

if ($Preflight) {
    Write-Host 'Pre-flight: read-only, nothing is changed or saved.'
    $result = Test-RunbookStep4
    Write-Host ('Step 4, Exchange reads the pool''s metadata again: ' + $result.Decision + ': ' + $result.Reason)
    if ($result.Question) {
        Write-Host ('    ' + $result.Question)
    }
    return
}
if (-not $Step) {
    throw 'Give -Preflight, or -Step N (and -BackOut to undo step N): see the first lines of this script.'
}

# Step 4: Exchange reads the pool's metadata again.
if ($Step -eq '4' -and -not $BackOut) {
    $result = Test-RunbookStep4
    $observed = $result.Observed
    $decision = $result.Decision
    $reason = $result.Reason
    $question = $result.Question
    Save-RunbookState -Step '4' -Observed $observed -Decision $decision -Changed $false
    switch ($decision) {
        'change' {
            Save-RunbookState -Step '4' -Observed $observed -Decision $decision -Changed $true
            $targets = @($observed.Applications | Where-Object { $_.AuthMetadataUrl -eq 'https://sfb.northwindtraders.com/metadata/json/1' -and $_.Enabled })
            foreach ($application in $targets) {
                Set-PartnerApplication -Identity ([string]$application.Name) -RefreshAuthMetadata -ErrorAction Stop
            }
            Write-Host ('Step 4: changed, because ' + $reason)
        }
        'stop' {
            throw ('Step 4: STOP, nothing changed: ' + $reason + '. ' + $question)
        }
    }
    $now = @(Get-PartnerApplication -ErrorAction Stop | Select-Object -Property Name, Enabled, AuthMetadataUrl)
    if (@($now | Where-Object { $_.AuthMetadataUrl -eq 'https://sfb.northwindtraders.com/metadata/json/1' -and $_.Enabled }).Count -eq 0) {
        throw 'Step 4: NOT VERIFIED: no enabled partner application has the pool''s metadata URL'
    }
    Write-Host 'Step 4 verified: the partner application is enabled; -RefreshAuthMetadata re-reads a partner''s metadata [Set-PartnerApplication.md], but whether Exchange needs it after a roll, or re-reads the metadata on its own, is not documented (UNVERIFIED)'
}
if ($Step -eq '4' -and $BackOut) {
    $saved = (Read-RunbookState)['4']
    if ($null -eq $saved) {
        throw ('Step 4: no saved state in ' + $StatePath + ': the step did not run with this state file, so nothing is backed out')
    }
    if (-not $saved.Changed) {
        Write-Host ('Step 4 changed nothing (' + $saved.Decision + '): nothing to back out.')
    } else {
        Write-Host 'Step 4 only made Exchange read the pool''s metadata again: nothing to undo.'
    }
}
