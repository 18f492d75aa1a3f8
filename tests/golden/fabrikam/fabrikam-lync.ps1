# runbook 0.1.0: Integration of Skype for Business Server 2015 with Exchange Server 2019, environment 'fabrikam' (Fabrikam, Inc.).
# The Skype for Business Server Management Shell steps (2, 6, 8, 9), to run on sfbfe1.corp.fabrikam.com, one at a time, in the
# order of the checklist of the runbook page (the other steps run in other shells):
#   .\fabrikam-lync.ps1 -Preflight          read-only: what each step would do now
#   .\fabrikam-lync.ps1 -Step N             observe, decide, change only what the decision selects, verify
#   .\fabrikam-lync.ps1 -Step N -BackOut    undo what step N changed, from the state it saved
# The state is saved in -StateFolder (default: $HOME\runbook). A downloaded script is blocked
# until you run: Unblock-File -Path .\fabrikam-lync.ps1
# Generated from environments/fabrikam: do not edit.
[CmdletBinding()]
param(
    [ValidateSet('2', '6', '8', '9')]
    [string] $Step,
    [switch] $BackOut,
    [switch] $Preflight,
    [string] $StateFolder = (Join-Path -Path $HOME -ChildPath 'runbook')
)
$ErrorActionPreference = 'Stop'
$StatePath = Join-Path -Path $StateFolder -ChildPath 'fabrikam-integration-lync-state.xml'

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

# Step 2: Skype for Business OAuthTokenIssuer certificate. Observe (read-only) and decide.
function Test-RunbookStep2 {
    $observed = @{
        Computer = [System.Net.Dns]::GetHostName()
        Pending = @(Get-CsManagementStoreReplicationStatus | Where-Object { -not $_.UpToDate }).Count
        Assigned = @(Get-CsCertificate -Type OAuthTokenIssuer | Select-Object -Property Thumbprint, Subject, NotAfter)
        InStore = Test-Path -LiteralPath 'Cert:\LocalMachine\My\3E4F0A1B2C3D4E5F60718293A4B5C6D7E8F90A1B'
        HasPrivateKey = $false
    }
    if ($observed.InStore) {
        $observed.HasPrivateKey = (Get-Item -LiteralPath 'Cert:\LocalMachine\My\3E4F0A1B2C3D4E5F60718293A4B5C6D7E8F90A1B').HasPrivateKey
    }
    $question = ''
    if (@('sfbfe1', 'sfbfe2') -notcontains $observed.Computer) {
        $decision = 'stop'
        $reason = 'this computer is not one of the environment''s Front End Servers (sfbfe1.corp.fabrikam.com, sfbfe2.corp.fabrikam.com)'
        $question = 'Run this step in the Skype for Business Server Management Shell on sfbfe1.corp.fabrikam.com, where Get-CsCertificate shows what this Front End Server has [Get-CsCertificate.md] Decides: the operator.'
    } elseif ($observed.Pending -gt 0) {
        $decision = 'stop'
        $reason = 'a replica of the Central Management store is not up to date, so this server''s view may be old'
        $question = 'Wait until Get-CsManagementStoreReplicationStatus shows UpToDate True for every replica [S-EXO], then run this step again; find out why if it does not Decides: the Skype for Business administrator.'
    } elseif ($observed.Assigned.Count -eq 1 -and $observed.Assigned[0].Thumbprint -eq '3E4F0A1B2C3D4E5F60718293A4B5C6D7E8F90A1B') {
        $decision = 'skip'
        $reason = 'the certificate 3E4F0A1B2C3D4E5F60718293A4B5C6D7E8F90A1B named in the environment file is the one assigned'
    } elseif ($observed.Assigned.Count -eq 0) {
        $decision = 'change'
        $reason = 'no OAuthTokenIssuer certificate is assigned'
    } else {
        $decision = 'stop'
        $reason = 'another OAuthTokenIssuer certificate is assigned, or more than one (a roll is pending)'
        $question = 'Keep the assigned certificate (then name it in lync.oauth_certificate and build the runbook again), or replace it in a change of its own by a scheduled roll (procedure renew-oauth-certificate: Set-CsCertificate -Roll -EffectiveDate, at least 24 hours before the assigned one expires [S-ROLL]), never by assigning the new one at once? Decides: the Skype for Business administrator.'
    }
    return @{ Observed = $observed; Decision = $decision; Reason = $reason; Question = $question }
}

# Step 6: Point Skype for Business at Exchange autodiscover. Observe (read-only) and decide.
function Test-RunbookStep6 {
    $configuration = Get-CsOAuthConfiguration -Identity global
    $observed = @{
        Url = [string]$configuration.ExchangeAutodiscoverUrl
        Resolves = @(Resolve-DnsName -Name 'autodiscover.corp.fabrikam.com' -DnsOnly -ErrorAction SilentlyContinue).Count -gt 0
    }
    $question = ''
    if ($observed.Url -eq 'https://autodiscover.corp.fabrikam.com/autodiscover/autodiscover.svc') {
        $decision = 'skip'
        $reason = 'ExchangeAutodiscoverUrl is https://autodiscover.corp.fabrikam.com/autodiscover/autodiscover.svc'
    } elseif ($observed.Url -eq '') {
        $decision = 'change'
        $reason = 'ExchangeAutodiscoverUrl is blank'
    } else {
        $decision = 'stop'
        $reason = 'ExchangeAutodiscoverUrl is another URL'
        $question = 'Skype for Business already finds Exchange elsewhere (Exchange Online, for example, uses autodiscover-s.outlook.com [S-MF]; a URL ending in autodiscover.xml is a known mistake: the service is autodiscover.svc). Keep it, or change it in a change of its own? Decides: the Skype for Business administrator, with the Exchange administrator.'
    }
    return @{ Observed = $observed; Decision = $decision; Reason = $reason; Question = $question }
}

# Step 8: Register Exchange as a partner application in Skype for Business. Observe (read-only) and decide.
function Test-RunbookStep8 {
    $observed = @{ Applications = @(Get-CsPartnerApplication | ForEach-Object { @{ Identity = [string]$_.Identity; Enabled = $_.Enabled; Trust = [string]$_.ApplicationTrustLevel; Text = ($_ | Format-List -Property * | Out-String) } }) }
    $question = ''
    if (@($observed.Applications | Where-Object { $_.Text -like '*https://autodiscover.corp.fabrikam.com/autodiscover/metadata/json/1*' -and $_.Enabled -and $_.Trust -eq 'Full' }).Count -gt 0) {
        $decision = 'skip'
        $reason = 'an enabled partner application with trust level Full has the metadata URL https://autodiscover.corp.fabrikam.com/autodiscover/metadata/json/1 (as Exchange, microsoft.exchange or any other name)'
    } elseif (@($observed.Applications | Where-Object { @('Exchange', 'microsoft.exchange', 'MicrosoftExchange') -contains $_.Identity -or $_.Text -match '00000002\-0000\-0ff1\-ce00\-000000000000|exch19\.corp\.fabrikam\.com|autodiscover\.corp\.fabrikam\.com' }).Count -eq 0) {
        $decision = 'change'
        $reason = 'no partner application looks like Exchange''s: none is named Exchange, microsoft.exchange or MicrosoftExchange [L-PA][L-ONPREM][Get-CsPartnerApplication.md], and none holds Exchange''s application identifier 00000002-0000-0ff1-ce00-000000000000 [L-ONPREM], an Exchange server''s name or autodiscover.corp.fabrikam.com'
    } else {
        $decision = 'stop'
        $reason = 'a partner application that looks like Exchange''s exists, with another metadata URL, another trust level, or disabled'
        $question = 'Which partner application should Skype for Business trust for Exchange? Review the one that exists (Get-CsPartnerApplication); don''t create a second one. Decides: the Skype for Business administrator, with the Exchange administrator.'
    }
    return @{ Observed = $observed; Decision = $decision; Reason = $reason; Question = $question }
}

if ($Preflight) {
    Write-Host 'Pre-flight: read-only, nothing is changed or saved.'
    $result = Test-RunbookStep2
    Write-Host ('Step 2, Skype for Business OAuthTokenIssuer certificate: ' + $result.Decision + ': ' + $result.Reason)
    $observed = $result.Observed
    if ($result.Decision -in 'change', 'roll' -and -not ($observed.InStore -and $observed.HasPrivateKey)) {
        Write-Host ('    not yet: ' + 'the certificate 3E4F0A1B2C3D4E5F60718293A4B5C6D7E8F90A1B is in the local computer store (Personal) of this Front End Server, with its private key: import the PFX there with the Certificates snap-in, as the manual route of [L-CERT] does, and not with Import-CsCertificate -Type OAuthTokenIssuer, which would also assign it at once')
    }
    if ($result.Question) {
        Write-Host ('    ' + $result.Question)
    }
    $result = Test-RunbookStep6
    Write-Host ('Step 6, Point Skype for Business at Exchange autodiscover: ' + $result.Decision + ': ' + $result.Reason)
    $observed = $result.Observed
    if ($result.Decision -in 'change', 'roll' -and -not ($observed.Resolves)) {
        Write-Host ('    not yet: ' + 'autodiscover.corp.fabrikam.com resolves from this Front End Server (step 4; just after it, run Clear-DnsClientCache here, and wait for the zone to replicate)')
    }
    if ($result.Question) {
        Write-Host ('    ' + $result.Question)
    }
    $result = Test-RunbookStep8
    Write-Host ('Step 8, Register Exchange as a partner application in Skype for Business: ' + $result.Decision + ': ' + $result.Reason)
    if ($result.Question) {
        Write-Host ('    ' + $result.Question)
    }
    return
}
if (-not $Step) {
    throw 'Give -Preflight, or -Step N (and -BackOut to undo step N): see the first lines of this script.'
}

# Step 2: Skype for Business OAuthTokenIssuer certificate.
if ($Step -eq '2' -and -not $BackOut) {
    $result = Test-RunbookStep2
    $observed = $result.Observed
    $decision = $result.Decision
    $reason = $result.Reason
    $question = $result.Question
    Save-RunbookState -Step '2' -Observed $observed -Decision $decision -Changed $false
    switch ($decision) {
        'stop' {
            throw ('Step 2: STOP, nothing changed: ' + $reason + '. ' + $question)
        }
        'skip' {
            Write-Host ('Step 2: already as intended, nothing to do: ' + $reason)
        }
        'change' {
            if (-not ($observed.InStore -and $observed.HasPrivateKey)) {
                throw 'Step 2: STOP, not changed: this must hold first: the certificate 3E4F0A1B2C3D4E5F60718293A4B5C6D7E8F90A1B is in the local computer store (Personal) of this Front End Server, with its private key: import the PFX there with the Certificates snap-in, as the manual route of [L-CERT] does, and not with Import-CsCertificate -Type OAuthTokenIssuer, which would also assign it at once'
            }
            Save-RunbookState -Step '2' -Observed $observed -Decision $decision -Changed $true
            Set-CsCertificate -Identity global -Type OAuthTokenIssuer -Thumbprint '3E4F0A1B2C3D4E5F60718293A4B5C6D7E8F90A1B'
            Write-Host ('Step 2: changed, because ' + $reason)
        }
    }
    $observed = @{
        Computer = [System.Net.Dns]::GetHostName()
        Pending = @(Get-CsManagementStoreReplicationStatus | Where-Object { -not $_.UpToDate }).Count
        Assigned = @(Get-CsCertificate -Type OAuthTokenIssuer | Select-Object -Property Thumbprint, Subject, NotAfter)
        InStore = Test-Path -LiteralPath 'Cert:\LocalMachine\My\3E4F0A1B2C3D4E5F60718293A4B5C6D7E8F90A1B'
        HasPrivateKey = $false
    }
    if ($observed.InStore) {
        $observed.HasPrivateKey = (Get-Item -LiteralPath 'Cert:\LocalMachine\My\3E4F0A1B2C3D4E5F60718293A4B5C6D7E8F90A1B').HasPrivateKey
    }
    if (-not ($observed.Assigned.Count -eq 1 -and $observed.Assigned[0].Thumbprint -eq '3E4F0A1B2C3D4E5F60718293A4B5C6D7E8F90A1B')) {
        throw 'Step 2: NOT VERIFIED: the certificate is assigned, and every replica of the Central Management store is up to date (UpToDate is True) [S-EXO]: Get-CsCertificate reads this computer only [Get-CsCertificate.md], and the global assignment reaches the other Front End Servers by replication [L-CERT], before Exchange reads the pool''s metadata (step 7)'
    }
    $pending = @()
    for ($attempt = 1; $attempt -le 20; $attempt++) {
        $pending = @(Get-CsManagementStoreReplicationStatus | Where-Object { -not $_.UpToDate })
        if ($pending.Count -eq 0) { break }
        Write-Host ('Replication is not up to date on ' + $pending.Count + ' replica(s); checking again in 30 seconds')
        Start-Sleep -Seconds 30
    }
    if ($pending.Count -gt 0) {
        $pending | Format-Table -AutoSize | Out-String | Write-Host
        throw 'Step 2: replication did not finish within 10 minutes: find out why before going on'
    }
    Write-Host 'Step 2 verified: the certificate is assigned, and every replica of the Central Management store is up to date (UpToDate is True) [S-EXO]: Get-CsCertificate reads this computer only [Get-CsCertificate.md], and the global assignment reaches the other Front End Servers by replication [L-CERT], before Exchange reads the pool''s metadata (step 7)'
}
if ($Step -eq '2' -and $BackOut) {
    $saved = (Read-RunbookState)['2']
    if ($null -eq $saved) {
        throw ('Step 2: no saved state in ' + $StatePath + ': the step did not run with this state file, so nothing is backed out')
    }
    if (-not $saved.Changed) {
        Write-Host ('Step 2 changed nothing (' + $saved.Decision + '): nothing to back out.')
    } else {
        Write-Host 'Step 2 assigned an OAuthTokenIssuer certificate where there was none: nothing to reassign; leave it.'
    }
}

# Step 6: Point Skype for Business at Exchange autodiscover.
if ($Step -eq '6' -and -not $BackOut) {
    $result = Test-RunbookStep6
    $observed = $result.Observed
    $decision = $result.Decision
    $reason = $result.Reason
    $question = $result.Question
    Save-RunbookState -Step '6' -Observed $observed -Decision $decision -Changed $false
    switch ($decision) {
        'skip' {
            Write-Host ('Step 6: already as intended, nothing to do: ' + $reason)
        }
        'change' {
            if (-not ($observed.Resolves)) {
                throw 'Step 6: STOP, not changed: this must hold first: autodiscover.corp.fabrikam.com resolves from this Front End Server (step 4; just after it, run Clear-DnsClientCache here, and wait for the zone to replicate)'
            }
            Save-RunbookState -Step '6' -Observed $observed -Decision $decision -Changed $true
            Set-CsOAuthConfiguration -Identity global -ExchangeAutodiscoverUrl 'https://autodiscover.corp.fabrikam.com/autodiscover/autodiscover.svc' -ErrorAction Stop
            Write-Host ('Step 6: changed, because ' + $reason)
        }
        'stop' {
            throw ('Step 6: STOP, nothing changed: ' + $reason + '. ' + $question)
        }
    }
    $configuration = Get-CsOAuthConfiguration -Identity global
    $observed = @{
        Url = [string]$configuration.ExchangeAutodiscoverUrl
        Resolves = @(Resolve-DnsName -Name 'autodiscover.corp.fabrikam.com' -DnsOnly -ErrorAction SilentlyContinue).Count -gt 0
    }
    if (-not ($observed.Url -eq 'https://autodiscover.corp.fabrikam.com/autodiscover/autodiscover.svc')) {
        throw 'Step 6: NOT VERIFIED: ExchangeAutodiscoverUrl is https://autodiscover.corp.fabrikam.com/autodiscover/autodiscover.svc'
    }
    Write-Host 'Step 6 verified: ExchangeAutodiscoverUrl is https://autodiscover.corp.fabrikam.com/autodiscover/autodiscover.svc'
}
if ($Step -eq '6' -and $BackOut) {
    $saved = (Read-RunbookState)['6']
    if ($null -eq $saved) {
        throw ('Step 6: no saved state in ' + $StatePath + ': the step did not run with this state file, so nothing is backed out')
    }
    if (-not $saved.Changed) {
        Write-Host ('Step 6 changed nothing (' + $saved.Decision + '): nothing to back out.')
    } else {
        Write-Host ('ExchangeAutodiscoverUrl was ''' + $saved.Observed.Url + ''' before the change.')
        Write-Warning 'Clearing it is not documented (UNVERIFIED): it is left as it is.'
    }
}

# Step 8: Register Exchange as a partner application in Skype for Business.
if ($Step -eq '8' -and -not $BackOut) {
    $result = Test-RunbookStep8
    $observed = $result.Observed
    $decision = $result.Decision
    $reason = $result.Reason
    $question = $result.Question
    Save-RunbookState -Step '8' -Observed $observed -Decision $decision -Changed $false
    switch ($decision) {
        'skip' {
            Write-Host ('Step 8: already as intended, nothing to do: ' + $reason)
        }
        'change' {
            Save-RunbookState -Step '8' -Observed $observed -Decision $decision -Changed $true
            New-CsPartnerApplication -Identity Exchange -ApplicationTrustLevel Full -MetadataUrl 'https://autodiscover.corp.fabrikam.com/autodiscover/metadata/json/1' -ErrorAction Stop
            Write-Host ('Step 8: changed, because ' + $reason)
        }
        'stop' {
            throw ('Step 8: STOP, nothing changed: ' + $reason + '. ' + $question)
        }
    }
    $observed = @{ Applications = @(Get-CsPartnerApplication | ForEach-Object { @{ Identity = [string]$_.Identity; Enabled = $_.Enabled; Trust = [string]$_.ApplicationTrustLevel; Text = ($_ | Format-List -Property * | Out-String) } }) }
    if (-not (@($observed.Applications | Where-Object { $_.Text -like '*https://autodiscover.corp.fabrikam.com/autodiscover/metadata/json/1*' -and $_.Enabled -and $_.Trust -eq 'Full' }).Count -gt 0)) {
        throw 'Step 8: NOT VERIFIED: an enabled partner application with trust level Full has the metadata URL https://autodiscover.corp.fabrikam.com/autodiscover/metadata/json/1 (the storage test of step 9 depends on it)'
    }
    Write-Host 'Step 8 verified: an enabled partner application with trust level Full has the metadata URL https://autodiscover.corp.fabrikam.com/autodiscover/metadata/json/1 (the storage test of step 9 depends on it)'
}
if ($Step -eq '8' -and $BackOut) {
    $saved = (Read-RunbookState)['8']
    if ($null -eq $saved) {
        throw ('Step 8: no saved state in ' + $StatePath + ': the step did not run with this state file, so nothing is backed out')
    }
    if (-not $saved.Changed) {
        Write-Host ('Step 8 changed nothing (' + $saved.Decision + '): nothing to back out.')
    } else {
        Set-CsPartnerApplication -Identity Exchange -Enabled $False -ErrorAction Stop
    }
}

# Step 9: Server-to-server connection to Exchange storage.
if ($Step -eq '9' -and -not $BackOut) {
    Test-CsExStorageConnectivity -SipUri 'sip:adele.vance@fabrikam.com' -DeleteItem -ErrorAction Stop | Format-List | Out-String | Write-Host
    if ((Read-Host 'Did the test report success, with no error? Type yes') -ne 'yes') {
        throw 'Step 9: NOT VERIFIED: see this step on the page, and do not go on'
    }
    Write-Host 'Step 9 verified: the operator confirms that Test-CsExStorageConnectivity reported success (its output on success is not documented: UNVERIFIED); it writes a test item to the user''s Conversation History folder and deletes it (-DeleteItem)'
}
if ($Step -eq '9' -and $BackOut) {
    Write-Host 'Step 9 changes nothing: nothing to back out.'
}
