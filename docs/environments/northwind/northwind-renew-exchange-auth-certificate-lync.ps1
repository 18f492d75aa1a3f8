# runbook 0.1.0: Renewal of the Exchange Server Auth certificate, environment 'northwind' (Northwind Traders).
# The Skype for Business Server Management Shell steps (7), to run on sfb-fe1.northwindtraders.com, one at a time, in the
# order of the checklist of the runbook page (the other steps run in other shells):
#   .\northwind-renew-exchange-auth-certificate-lync.ps1 -Preflight          read-only: what each step would do now
#   .\northwind-renew-exchange-auth-certificate-lync.ps1 -Step N             observe, decide, change only what the decision selects, verify
#   .\northwind-renew-exchange-auth-certificate-lync.ps1 -Step N -BackOut    undo what step N changed, from the state it saved
# The state is saved in -StateFolder (default: $HOME\runbook). A downloaded script is blocked
# until you run: Unblock-File -Path .\northwind-renew-exchange-auth-certificate-lync.ps1
# Generated from environments/northwind: do not edit.
[CmdletBinding()]
param(
    [ValidateSet('7')]
    [string] $Step,
    [switch] $BackOut,
    [switch] $Preflight,
    [string] $StateFolder = (Join-Path -Path $HOME -ChildPath 'runbook')
)
$ErrorActionPreference = 'Stop'
$StatePath = Join-Path -Path $StateFolder -ChildPath 'northwind-renew-exchange-auth-certificate-lync-state.xml'

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

if ($Preflight) {
    Write-Host 'Pre-flight: read-only, nothing is changed or saved.'
    return
}
if (-not $Step) {
    throw 'Give -Preflight, or -Step N (and -BackOut to undo step N): see the first lines of this script.'
}

# Step 7: Skype for Business still reaches Exchange.
if ($Step -eq '7' -and -not $BackOut) {
    $sipUri = Read-Host 'SIP address of a user with an Exchange mailbox (sip:user@domain)'
    if ($sipUri -notmatch '^sip:[^@\s]+@[^@\s]+$') {
        throw 'Step 7: not a SIP address like sip:user@domain'
    }
    Test-CsExStorageConnectivity -SipUri $sipUri -DeleteItem -ErrorAction Stop | Format-List | Out-String | Write-Host
    if ((Read-Host 'Did the test report success, with no error? Type yes') -ne 'yes') {
        throw 'Step 7: NOT VERIFIED: see this step on the page, and do not go on'
    }
    Write-Host 'Step 7 verified: the storage test succeeds from Skype for Business (the operator confirms: its success output is not documented, UNVERIFIED); whether Skype for Business must read Exchange''s metadata again after the rotation is not documented either'
}
if ($Step -eq '7' -and $BackOut) {
    Write-Host 'Step 7 changes nothing: nothing to back out.'
}
