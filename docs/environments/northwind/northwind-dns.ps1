# runbook 0.1.0: Integration of Skype for Business Server 2019 with Exchange Server 2016, environment 'northwind' (Northwind Traders).
# The Windows PowerShell (DnsServer module) steps (4), to run on a DNS server of the zone northwindtraders.com, one at a time, in the
# order of the checklist of the runbook page (the other steps run in other shells):
#   .\northwind-dns.ps1 -Preflight          read-only: what each step would do now
#   .\northwind-dns.ps1 -Step N             observe, decide, change only what the decision selects, verify
#   .\northwind-dns.ps1 -Step N -BackOut    undo what step N changed, from the state it saved
# The state is saved in -StateFolder (default: $HOME\runbook). A downloaded script is blocked
# until you run: Unblock-File -Path .\northwind-dns.ps1
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
$StatePath = Join-Path -Path $StateFolder -ChildPath 'northwind-integration-dns-state.xml'

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

# Step 4: DNS record for autodiscover.northwindtraders.com. Observe (read-only) and decide.
function Test-RunbookStep4 {
    $answers = @(Resolve-DnsName -Name 'autodiscover.northwindtraders.com' -Server '127.0.0.1' -DnsOnly -ErrorAction SilentlyContinue -ErrorVariable lookupErrors)
    $observed = @{
        Records = @($answers | Where-Object { $_.Name -eq 'autodiscover.northwindtraders.com' -and ($_.Type -eq 'CNAME' -or $_.Type -eq 'A') } | Select-Object -Property Name, Type, NameHost, IPAddress, TTL)
        NameMissing = @($lookupErrors | Where-Object { $_.FullyQualifiedErrorId -like 'DNS_ERROR_RCODE_NAME_ERROR*' }).Count -gt 0
    }
    $question = ''
    if ($observed.Records.Count -eq 1 -and $observed.Records[0].Type -eq 'CNAME' -and $observed.Records[0].NameHost -eq 'mail1.northwindtraders.com') {
        $decision = 'skip'
        $reason = 'autodiscover.northwindtraders.com is a CNAME of mail1.northwindtraders.com, and has no other record'
    } elseif ($observed.Records.Count -eq 0 -and $observed.NameMissing) {
        $decision = 'change'
        $reason = 'the DNS server answers that autodiscover.northwindtraders.com does not exist'
    } else {
        $decision = 'stop'
        $reason = 'autodiscover.northwindtraders.com exists with other data, or the DNS server did not answer'
        $question = 'Which record is right for autodiscover.northwindtraders.com? If the existing one is (it resolves to an Exchange server; a CNAME to Exchange Online breaks OAuth [S-MF]), keep it and go on with step 5: this step changed nothing. Adding a record beside it would answer both in turn (round-robin); changing or removing it affects every client that resolves the name, in a change of its own Decides: the DNS administrator, with the Exchange administrator.'
    }
    return @{ Observed = $observed; Decision = $decision; Reason = $reason; Question = $question }
}

if ($Preflight) {
    Write-Host 'Pre-flight: read-only, nothing is changed or saved.'
    $result = Test-RunbookStep4
    Write-Host ('Step 4, DNS record for autodiscover.northwindtraders.com: ' + $result.Decision + ': ' + $result.Reason)
    if ($result.Question) {
        Write-Host ('    ' + $result.Question)
    }
    return
}
if (-not $Step) {
    throw 'Give -Preflight, or -Step N (and -BackOut to undo step N): see the first lines of this script.'
}

# Step 4: DNS record for autodiscover.northwindtraders.com.
if ($Step -eq '4' -and -not $BackOut) {
    $result = Test-RunbookStep4
    $observed = $result.Observed
    $decision = $result.Decision
    $reason = $result.Reason
    $question = $result.Question
    Save-RunbookState -Step '4' -Observed $observed -Decision $decision -Changed $false
    switch ($decision) {
        'skip' {
            Write-Host ('Step 4: already as intended, nothing to do: ' + $reason)
        }
        'change' {
            Save-RunbookState -Step '4' -Observed $observed -Decision $decision -Changed $true
            Add-DnsServerResourceRecordCName -Name 'autodiscover' -HostNameAlias 'mail1.northwindtraders.com' -ZoneName 'northwindtraders.com' -TimeToLive '01:00:00' -ErrorAction Stop
            Write-Host ('Step 4: changed, because ' + $reason)
        }
        'stop' {
            throw ('Step 4: STOP, nothing changed: ' + $reason + '. ' + $question)
        }
    }
    $answers = @(Resolve-DnsName -Name 'autodiscover.northwindtraders.com' -Server '127.0.0.1' -DnsOnly -ErrorAction SilentlyContinue -ErrorVariable lookupErrors)
    $observed = @{
        Records = @($answers | Where-Object { $_.Name -eq 'autodiscover.northwindtraders.com' -and ($_.Type -eq 'CNAME' -or $_.Type -eq 'A') } | Select-Object -Property Name, Type, NameHost, IPAddress, TTL)
        NameMissing = @($lookupErrors | Where-Object { $_.FullyQualifiedErrorId -like 'DNS_ERROR_RCODE_NAME_ERROR*' }).Count -gt 0
    }
    if (-not ($observed.Records.Count -eq 1 -and $observed.Records[0].Type -eq 'CNAME' -and $observed.Records[0].NameHost -eq 'mail1.northwindtraders.com')) {
        throw 'Step 4: NOT VERIFIED: autodiscover.northwindtraders.com resolves to mail1.northwindtraders.com (CNAME record, TTL 3600 seconds)'
    }
    Write-Host 'Step 4 verified: autodiscover.northwindtraders.com resolves to mail1.northwindtraders.com (CNAME record, TTL 3600 seconds)'
}
if ($Step -eq '4' -and $BackOut) {
    $saved = (Read-RunbookState)['4']
    if ($null -eq $saved) {
        throw ('Step 4: no saved state in ' + $StatePath + ': the step did not run with this state file, so nothing is backed out')
    }
    if (-not $saved.Changed) {
        Write-Host ('Step 4 changed nothing (' + $saved.Decision + '): nothing to back out.')
    } else {
        Write-Warning 'Did step 5 set AutoDiscoverServiceInternalUri on any server (.\northwind-exchange.ps1 -Step 5 -BackOut prints the values)? Then leave the record: the URI points at it.'
        if ((Read-Host 'Type REMOVE to remove the record') -ceq 'REMOVE') {
            Remove-DnsServerResourceRecord -ZoneName 'northwindtraders.com' -RRType 'CName' -Name 'autodiscover' -RecordData 'mail1.northwindtraders.com' -Force -ErrorAction Stop
        } else {
            Write-Host 'The record was left in place.'
        }
    }
}
