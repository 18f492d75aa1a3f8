# runbook 0.1.0: Renewal of the Skype for Business OAuthTokenIssuer certificate by a scheduled roll, environment 'northwind' (Northwind Traders).
# The Skype for Business Server Management Shell steps (2, 3, 5, 6), to run on sfb-fe1.northwindtraders.com, one at a time, in the
# order of the checklist of the runbook page (the other steps run in other shells):
#   .\northwind-renew-oauth-certificate-lync.ps1 -Preflight          read-only: what each step would do now
#   .\northwind-renew-oauth-certificate-lync.ps1 -Step N             observe, decide, change only what the decision selects, verify
#   .\northwind-renew-oauth-certificate-lync.ps1 -Step N -BackOut    undo what step N changed, from the state it saved
# The state is saved in -StateFolder (default: $HOME\runbook). A downloaded script is blocked
# until you run: Unblock-File -Path .\northwind-renew-oauth-certificate-lync.ps1
# Generated from environments/northwind: do not edit.
[CmdletBinding()]
param(
    [ValidateSet('2', '3', '5', '6')]
    [string] $Step,
    [switch] $BackOut,
    [switch] $Preflight,
    [string] $StateFolder = (Join-Path -Path $HOME -ChildPath 'runbook')
)
$ErrorActionPreference = 'Stop'
$StatePath = Join-Path -Path $StateFolder -ChildPath 'northwind-renew-oauth-certificate-lync-state.xml'

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

# Step 2: The new certificate on this Front End Server. Observe (read-only) and decide.
function Test-RunbookStep2 {
    $observed = @{
        Computer = [System.Net.Dns]::GetHostName()
        Pending = @(Get-CsManagementStoreReplicationStatus | Where-Object { -not $_.UpToDate }).Count
        Next = ''
        InStore = $false
        HasPrivateKey = $false
        Subject = ''
        KeySize = 0
        NotAfter = $null
    }
    $first = (Read-RunbookState)['2']
    if ($first -and $first.Decision -ne 'stop' -and $first.Observed.Next) {
        $observed.Next = $first.Observed.Next
    } else {
        $observed.Next = (Read-Host 'Thumbprint of the new OAuthTokenIssuer certificate (40 hexadecimal digits)').Replace(' ', '').ToUpperInvariant()
        if ($observed.Next -notmatch '^[0-9A-F]{40}$') {
            throw ('Not a thumbprint (40 hexadecimal digits): ' + $observed.Next)
        }
    }

    $path = 'Cert:\LocalMachine\My\' + $observed.Next
    if ($observed.Next -match '^[0-9A-F]{40}$' -and (Test-Path -LiteralPath $path)) {
        $certificate = Get-Item -LiteralPath $path
        $observed.InStore = $true
        $observed.HasPrivateKey = $certificate.HasPrivateKey
        $observed.Subject = $certificate.Subject
        $observed.KeySize = $certificate.PublicKey.Key.KeySize
        $observed.NotAfter = $certificate.NotAfter
    }
    $question = ''
    if (@('sfb-fe1', 'sfb-fe2') -notcontains $observed.Computer) {
        $decision = 'stop'
        $reason = 'this computer is not one of the environment''s Front End Servers (sfb-fe1.northwindtraders.com, sfb-fe2.northwindtraders.com)'
        $question = 'Run this step in the Skype for Business Server Management Shell on sfb-fe1.northwindtraders.com, where Get-CsCertificate shows what this Front End Server has [Get-CsCertificate.md] Decides: the operator.'
    } elseif ($observed.Pending -gt 0) {
        $decision = 'stop'
        $reason = 'a replica of the Central Management store is not up to date, so this server''s view may be old'
        $question = 'Wait until Get-CsManagementStoreReplicationStatus shows UpToDate True for every replica [S-EXO], then run this step again; find out why if it does not Decides: the Skype for Business administrator.'
    } elseif ($observed.InStore -and $observed.HasPrivateKey -and $observed.Subject -match '(^|[=.,\s])northwindtraders\.com(\s*,|\s*$)' -and $observed.KeySize -ge 2048 -and $observed.NotAfter -gt (Get-Date).AddDays(30)) {
        $decision = 'skip'
        $reason = 'the new certificate is in this Front End Server''s local computer store with its private key, its Subject holds northwindtraders.com, its key has at least 2048 bits, and it is valid for 30 days more'
    } elseif (-not $observed.InStore) {
        $decision = 'stop'
        $reason = 'the new certificate is not in this Front End Server''s local computer store'
        $question = 'Import it (the PFX, requested with an exportable private key [S-ROLL]) into the local computer store (Personal) of this Front End Server, with the Certificates snap-in: not with Import-CsCertificate -Type OAuthTokenIssuer, which would also assign it at once. Once is enough: the roll replicates it [S-ROLL]. Then run this step again Decides: the operator.'
    } else {
        $decision = 'stop'
        $reason = 'the new certificate does not meet the requirements (private key, Subject with northwindtraders.com, at least 2048 bits, 30 days of validity)'
        $question = 'Request a certificate that meets them [L-PRE][S-ROLL], and run this step again with it? Decides: the Skype for Business administrator.'
    }
    return @{ Observed = $observed; Decision = $decision; Reason = $reason; Question = $question }
}

# Step 3: Schedule the roll. Observe (read-only) and decide.
function Test-RunbookStep3 {
    $observed = @{
        Computer = [System.Net.Dns]::GetHostName()
        Pending = @(Get-CsManagementStoreReplicationStatus | Where-Object { -not $_.UpToDate }).Count
        Assigned = @(Get-CsCertificate -Type OAuthTokenIssuer | Select-Object -Property Thumbprint, Subject, NotAfter)
        Next = ''
        Effective = $null
        Current = ''
        CurrentNotAfter = $null
    }
    $first = (Read-RunbookState)['2']
    if ($first -and $first.Decision -ne 'stop' -and $first.Observed.Next) {
        $observed.Next = $first.Observed.Next
    } else {
        $observed.Next = (Read-Host 'Thumbprint of the new OAuthTokenIssuer certificate (40 hexadecimal digits)').Replace(' ', '').ToUpperInvariant()
        if ($observed.Next -notmatch '^[0-9A-F]{40}$') {
            throw ('Not a thumbprint (40 hexadecimal digits): ' + $observed.Next)
        }
    }

    $first = (Read-RunbookState)['3']
    if ($first -and $first.Decision -ne 'stop' -and $first.Observed.Effective) {
        $observed.Effective = $first.Observed.Effective
    } else {
        $answer = Read-Host 'When should the new certificate take effect (yyyy-MM-dd HH:mm, this server''s local time)'
        $observed.Effective = [datetime]::ParseExact($answer, 'yyyy-MM-dd HH:mm', [Globalization.CultureInfo]::InvariantCulture)
    }
    $others = @($observed.Assigned | Where-Object { $_.Thumbprint -ne $observed.Next })
    if ($others.Count -eq 1) {
        $observed.Current = [string]$others[0].Thumbprint
        $observed.CurrentNotAfter = $others[0].NotAfter
    }
    $question = ''
    if (@('sfb-fe1', 'sfb-fe2') -notcontains $observed.Computer) {
        $decision = 'stop'
        $reason = 'this computer is not one of the environment''s Front End Servers (sfb-fe1.northwindtraders.com, sfb-fe2.northwindtraders.com)'
        $question = 'Run this step in the Skype for Business Server Management Shell on sfb-fe1.northwindtraders.com, where Get-CsCertificate shows what this Front End Server has [Get-CsCertificate.md] Decides: the operator.'
    } elseif ($observed.Pending -gt 0) {
        $decision = 'stop'
        $reason = 'a replica of the Central Management store is not up to date, so this server''s view may be old'
        $question = 'Wait until Get-CsManagementStoreReplicationStatus shows UpToDate True for every replica [S-EXO], then run this step again; find out why if it does not Decides: the Skype for Business administrator.'
    } elseif (@($observed.Assigned | Where-Object { $_.Thumbprint -eq $observed.Next }).Count -gt 0) {
        $decision = 'skip'
        $reason = 'the new certificate is assigned already (current, or scheduled by a roll)'
    } elseif ($observed.Current -and $observed.Effective -gt (Get-Date) -and $observed.Effective -le $observed.CurrentNotAfter.AddHours(-24)) {
        $decision = 'roll'
        $reason = 'one other certificate is current, and the effective date lies in the future and at least 24 hours before it expires [S-ROLL]'
    } else {
        $decision = 'stop'
        $reason = 'no other certificate is current, more than one is, or the effective date is past or less than 24 hours before the current one expires'
        $question = 'With no certificate assigned, assign one with the integration (its step 2) rather than a roll; with less than 24 hours left, Exchange may still hold tokens of the current one [S-ROLL]: choose another date (or renew sooner next time) Decides: the Skype for Business administrator.'
    }
    return @{ Observed = $observed; Decision = $decision; Reason = $reason; Question = $question }
}

# Step 6: Remove the previous certificate once it has expired. Observe (read-only) and decide.
function Test-RunbookStep6 {
    $observed = @{
        Computer = [System.Net.Dns]::GetHostName()
        Pending = @(Get-CsManagementStoreReplicationStatus | Where-Object { -not $_.UpToDate }).Count
        Assigned = @(Get-CsCertificate -Type OAuthTokenIssuer | Select-Object -Property Thumbprint, NotAfter)
        Next = ''
    }
    $first = (Read-RunbookState)['2']
    if ($first -and $first.Decision -ne 'stop' -and $first.Observed.Next) {
        $observed.Next = $first.Observed.Next
    } else {
        $observed.Next = (Read-Host 'Thumbprint of the new OAuthTokenIssuer certificate (40 hexadecimal digits)').Replace(' ', '').ToUpperInvariant()
        if ($observed.Next -notmatch '^[0-9A-F]{40}$') {
            throw ('Not a thumbprint (40 hexadecimal digits): ' + $observed.Next)
        }
    }

    $observed.Previous = @($observed.Assigned | Where-Object { $_.Thumbprint -ne $observed.Next })
    $question = ''
    if (@('sfb-fe1', 'sfb-fe2') -notcontains $observed.Computer) {
        $decision = 'stop'
        $reason = 'this computer is not one of the environment''s Front End Servers (sfb-fe1.northwindtraders.com, sfb-fe2.northwindtraders.com)'
        $question = 'Run this step in the Skype for Business Server Management Shell on sfb-fe1.northwindtraders.com, where Get-CsCertificate shows what this Front End Server has [Get-CsCertificate.md] Decides: the operator.'
    } elseif ($observed.Pending -gt 0) {
        $decision = 'stop'
        $reason = 'a replica of the Central Management store is not up to date, so this server''s view may be old'
        $question = 'Wait until Get-CsManagementStoreReplicationStatus shows UpToDate True for every replica [S-EXO], then run this step again; find out why if it does not Decides: the Skype for Business administrator.'
    } elseif (@($observed.Assigned | Where-Object { $_.Thumbprint -eq $observed.Next }).Count -eq 0) {
        $decision = 'stop'
        $reason = 'Get-CsCertificate does not list the new certificate'
        $question = 'The roll has not taken place: schedule it (step 3) and verify it (step 5) first; the previous certificate is the one in use Decides: the operator.'
    } elseif ($observed.Previous.Count -eq 0) {
        $decision = 'skip'
        $reason = 'Get-CsCertificate lists no certificate besides the new one'
    } elseif (@($observed.Previous | Where-Object { $_.NotAfter -gt (Get-Date) }).Count -eq 0) {
        $decision = 'change'
        $reason = 'the certificates listed besides the new one have all expired'
    } else {
        $decision = 'stop'
        $reason = 'the previous certificate has not expired yet'
        $question = 'Tokens are checked against it until it expires [S-ROLL]: run this step again after its expiry Decides: the operator.'
    }
    return @{ Observed = $observed; Decision = $decision; Reason = $reason; Question = $question }
}

if ($Preflight) {
    Write-Host 'Pre-flight: read-only, nothing is changed or saved.'
    $result = Test-RunbookStep2
    Write-Host ('Step 2, The new certificate on this Front End Server: ' + $result.Decision + ': ' + $result.Reason)
    if ($result.Question) {
        Write-Host ('    ' + $result.Question)
    }
    $result = Test-RunbookStep3
    Write-Host ('Step 3, Schedule the roll: ' + $result.Decision + ': ' + $result.Reason)
    $observed = $result.Observed
    if ($result.Decision -in 'change', 'roll' -and -not (Test-Path -LiteralPath ('Cert:\LocalMachine\My\' + $observed.Next))) {
        Write-Host ('    not yet: ' + 'the new certificate is in this Front End Server''s local computer store (step 2)')
    }
    if ($result.Question) {
        Write-Host ('    ' + $result.Question)
    }
    $result = Test-RunbookStep6
    Write-Host ('Step 6, Remove the previous certificate once it has expired: ' + $result.Decision + ': ' + $result.Reason)
    if ($result.Question) {
        Write-Host ('    ' + $result.Question)
    }
    return
}
if (-not $Step) {
    throw 'Give -Preflight, or -Step N (and -BackOut to undo step N): see the first lines of this script.'
}

# Step 2: The new certificate on this Front End Server.
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
    }
    $observed = @{
        Computer = [System.Net.Dns]::GetHostName()
        Pending = @(Get-CsManagementStoreReplicationStatus | Where-Object { -not $_.UpToDate }).Count
        Next = ''
        InStore = $false
        HasPrivateKey = $false
        Subject = ''
        KeySize = 0
        NotAfter = $null
    }
    $first = (Read-RunbookState)['2']
    if ($first -and $first.Decision -ne 'stop' -and $first.Observed.Next) {
        $observed.Next = $first.Observed.Next
    } else {
        $observed.Next = (Read-Host 'Thumbprint of the new OAuthTokenIssuer certificate (40 hexadecimal digits)').Replace(' ', '').ToUpperInvariant()
        if ($observed.Next -notmatch '^[0-9A-F]{40}$') {
            throw ('Not a thumbprint (40 hexadecimal digits): ' + $observed.Next)
        }
    }

    $path = 'Cert:\LocalMachine\My\' + $observed.Next
    if ($observed.Next -match '^[0-9A-F]{40}$' -and (Test-Path -LiteralPath $path)) {
        $certificate = Get-Item -LiteralPath $path
        $observed.InStore = $true
        $observed.HasPrivateKey = $certificate.HasPrivateKey
        $observed.Subject = $certificate.Subject
        $observed.KeySize = $certificate.PublicKey.Key.KeySize
        $observed.NotAfter = $certificate.NotAfter
    }
    if (-not ($observed.InStore -and $observed.HasPrivateKey -and $observed.Subject -match '(^|[=.,\s])northwindtraders\.com(\s*,|\s*$)' -and $observed.KeySize -ge 2048 -and $observed.NotAfter -gt (Get-Date).AddDays(30))) {
        throw 'Step 2: NOT VERIFIED: the new certificate is in the local computer store and meets the requirements'
    }
    Write-Host 'Step 2 verified: the new certificate is in the local computer store and meets the requirements'
}
if ($Step -eq '2' -and $BackOut) {
    Write-Host 'Step 2 changes nothing: nothing to back out.'
}

# Step 3: Schedule the roll.
if ($Step -eq '3' -and -not $BackOut) {
    $result = Test-RunbookStep3
    $observed = $result.Observed
    $decision = $result.Decision
    $reason = $result.Reason
    $question = $result.Question
    Save-RunbookState -Step '3' -Observed $observed -Decision $decision -Changed $false
    switch ($decision) {
        'stop' {
            throw ('Step 3: STOP, nothing changed: ' + $reason + '. ' + $question)
        }
        'skip' {
            Write-Host ('Step 3: already as intended, nothing to do: ' + $reason)
        }
        'roll' {
            if (-not (Test-Path -LiteralPath ('Cert:\LocalMachine\My\' + $observed.Next))) {
                throw 'Step 3: STOP, not changed: this must hold first: the new certificate is in this Front End Server''s local computer store (step 2)'
            }
            Save-RunbookState -Step '3' -Observed $observed -Decision $decision -Changed $true
            Set-CsCertificate -Identity global -Type OAuthTokenIssuer -Thumbprint $observed.Next -EffectiveDate $observed.Effective -Roll -ErrorAction Stop
            Write-Host ('Step 3: changed, because ' + $reason)
        }
    }
    $observed = @{
        Computer = [System.Net.Dns]::GetHostName()
        Pending = @(Get-CsManagementStoreReplicationStatus | Where-Object { -not $_.UpToDate }).Count
        Assigned = @(Get-CsCertificate -Type OAuthTokenIssuer | Select-Object -Property Thumbprint, Subject, NotAfter)
        Next = ''
        Effective = $null
        Current = ''
        CurrentNotAfter = $null
    }
    $first = (Read-RunbookState)['2']
    if ($first -and $first.Decision -ne 'stop' -and $first.Observed.Next) {
        $observed.Next = $first.Observed.Next
    } else {
        $observed.Next = (Read-Host 'Thumbprint of the new OAuthTokenIssuer certificate (40 hexadecimal digits)').Replace(' ', '').ToUpperInvariant()
        if ($observed.Next -notmatch '^[0-9A-F]{40}$') {
            throw ('Not a thumbprint (40 hexadecimal digits): ' + $observed.Next)
        }
    }

    $first = (Read-RunbookState)['3']
    if ($first -and $first.Decision -ne 'stop' -and $first.Observed.Effective) {
        $observed.Effective = $first.Observed.Effective
    } else {
        $answer = Read-Host 'When should the new certificate take effect (yyyy-MM-dd HH:mm, this server''s local time)'
        $observed.Effective = [datetime]::ParseExact($answer, 'yyyy-MM-dd HH:mm', [Globalization.CultureInfo]::InvariantCulture)
    }
    $others = @($observed.Assigned | Where-Object { $_.Thumbprint -ne $observed.Next })
    if ($others.Count -eq 1) {
        $observed.Current = [string]$others[0].Thumbprint
        $observed.CurrentNotAfter = $others[0].NotAfter
    }
    if (-not (@($observed.Assigned | Where-Object { $_.Thumbprint -eq $observed.Next }).Count -gt 0)) {
        throw 'Step 3: NOT VERIFIED: Get-CsCertificate lists the new certificate, and every replica of the Central Management store is up to date [S-EXO]: the roll is replicated to every Front End Server [S-ROLL]'
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
        throw 'Step 3: replication did not finish within 10 minutes: find out why before going on'
    }
    Write-Host 'Step 3 verified: Get-CsCertificate lists the new certificate, and every replica of the Central Management store is up to date [S-EXO]: the roll is replicated to every Front End Server [S-ROLL]'
}
if ($Step -eq '3' -and $BackOut) {
    $saved = (Read-RunbookState)['3']
    if ($null -eq $saved) {
        throw ('Step 3: no saved state in ' + $StatePath + ': the step did not run with this state file, so nothing is backed out')
    }
    if (-not $saved.Changed) {
        Write-Host ('Step 3 changed nothing (' + $saved.Decision + '): nothing to back out.')
    } else {
        $previous = [string]$saved.Observed.Current
        if ((Get-Date) -ge $saved.Observed.CurrentNotAfter) {
            throw ('Step 3: the previous certificate ' + $previous + ' has expired: it cannot be reassigned; fix forward')
        }
        if ((Get-Date) -lt $saved.Observed.Effective) {
            Write-Host 'Before the effective date: the previous certificate is still the current one.'
        } else {
            Write-Host 'After the effective date: the previous certificate becomes current again at once.'
        }
        if ((Read-Host ('Reassign ' + $previous + ' as the OAuthTokenIssuer certificate? Type yes')) -eq 'yes') {
            Set-CsCertificate -Identity global -Type OAuthTokenIssuer -Thumbprint $previous -ErrorAction Stop
            Get-CsCertificate -Type OAuthTokenIssuer | Format-List | Out-String | Write-Host
        }
    }
}

# Step 5: After the effective date, the new certificate in use.
if ($Step -eq '5' -and -not $BackOut) {
    $observed = @{ Next = ''; Effective = $null }
    $first = (Read-RunbookState)['2']
    if ($first -and $first.Decision -ne 'stop' -and $first.Observed.Next) {
        $observed.Next = $first.Observed.Next
    } else {
        $observed.Next = (Read-Host 'Thumbprint of the new OAuthTokenIssuer certificate (40 hexadecimal digits)').Replace(' ', '').ToUpperInvariant()
        if ($observed.Next -notmatch '^[0-9A-F]{40}$') {
            throw ('Not a thumbprint (40 hexadecimal digits): ' + $observed.Next)
        }
    }

    $rolled = (Read-RunbookState)['3']
    if ($null -eq $rolled) {
        throw 'Step 5: run step 3 first: it schedules the roll and keeps its date'
    }
    $observed.Effective = $rolled.Observed.Effective
    if ((Get-Date) -lt $observed.Effective) {
        throw ('Step 5: run this after the effective date, ' + $observed.Effective.ToString('yyyy-MM-dd HH:mm'))
    }
    if (@(Get-CsCertificate -Type OAuthTokenIssuer | Where-Object { $_.Thumbprint -eq $observed.Next }).Count -eq 0) {
        throw 'Step 5: NOT VERIFIED: Get-CsCertificate does not list the new certificate'
    }
    $sipUri = Read-Host 'SIP address of a user with an Exchange mailbox (sip:user@domain)'
    if ($sipUri -notmatch '^sip:[^@\s]+@[^@\s]+$') {
        throw 'Step 5: not a SIP address like sip:user@domain'
    }
    Test-CsExStorageConnectivity -SipUri $sipUri -DeleteItem -ErrorAction Stop | Format-List | Out-String | Write-Host
    if ((Read-Host 'Did the test report success, with no error? Type yes') -ne 'yes') {
        throw 'Step 5: NOT VERIFIED: see this step on the page, and do not go on'
    }
    Write-Host 'Step 5 verified: after the effective date, Get-CsCertificate lists the new certificate, and the storage test succeeds (the operator confirms: its success output is not documented, UNVERIFIED)'
}
if ($Step -eq '5' -and $BackOut) {
    Write-Host 'Step 5 changes nothing: nothing to back out.'
}

# Step 6: Remove the previous certificate once it has expired.
if ($Step -eq '6' -and -not $BackOut) {
    $result = Test-RunbookStep6
    $observed = $result.Observed
    $decision = $result.Decision
    $reason = $result.Reason
    $question = $result.Question
    Save-RunbookState -Step '6' -Observed $observed -Decision $decision -Changed $false
    switch ($decision) {
        'stop' {
            throw ('Step 6: STOP, nothing changed: ' + $reason + '. ' + $question)
        }
        'skip' {
            Write-Host ('Step 6: already as intended, nothing to do: ' + $reason)
        }
        'change' {
            Save-RunbookState -Step '6' -Observed $observed -Decision $decision -Changed $true
            Remove-CsCertificate -Type OAuthTokenIssuer -Previous -ErrorAction Stop
            Write-Host ('Step 6: changed, because ' + $reason)
        }
    }
    $observed = @{
        Computer = [System.Net.Dns]::GetHostName()
        Pending = @(Get-CsManagementStoreReplicationStatus | Where-Object { -not $_.UpToDate }).Count
        Assigned = @(Get-CsCertificate -Type OAuthTokenIssuer | Select-Object -Property Thumbprint, NotAfter)
        Next = ''
    }
    $first = (Read-RunbookState)['2']
    if ($first -and $first.Decision -ne 'stop' -and $first.Observed.Next) {
        $observed.Next = $first.Observed.Next
    } else {
        $observed.Next = (Read-Host 'Thumbprint of the new OAuthTokenIssuer certificate (40 hexadecimal digits)').Replace(' ', '').ToUpperInvariant()
        if ($observed.Next -notmatch '^[0-9A-F]{40}$') {
            throw ('Not a thumbprint (40 hexadecimal digits): ' + $observed.Next)
        }
    }

    $observed.Previous = @($observed.Assigned | Where-Object { $_.Thumbprint -ne $observed.Next })
    if (-not ($observed.Previous.Count -eq 0)) {
        throw 'Step 6: NOT VERIFIED: Get-CsCertificate lists no certificate besides the new one'
    }
    Write-Host 'Step 6 verified: Get-CsCertificate lists no certificate besides the new one'
}
if ($Step -eq '6' -and $BackOut) {
    $saved = (Read-RunbookState)['6']
    if ($null -eq $saved) {
        throw ('Step 6: no saved state in ' + $StatePath + ': the step did not run with this state file, so nothing is backed out')
    }
    if (-not $saved.Changed) {
        Write-Host ('Step 6 changed nothing (' + $saved.Decision + '): nothing to back out.')
    } else {
        Write-Host 'Step 6 removed a certificate that had expired: nothing to restore.'
    }
}
