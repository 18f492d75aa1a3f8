# runbook 0.1.0: Renewal of the Exchange Server Auth certificate, environment 'litwareinc' (Litware Inc.).
# The Exchange Management Shell steps (2, 3, 4, 5, 6, 8), to run on atl-exchange-001.litwareinc.com, one at a time, in the
# order of the checklist of the runbook page (the other steps run in other shells):
#   .\litwareinc-renew-exchange-auth-certificate-exchange.ps1 -Preflight          read-only: what each step would do now
#   .\litwareinc-renew-exchange-auth-certificate-exchange.ps1 -Step N             observe, decide, change only what the decision selects, verify
#   .\litwareinc-renew-exchange-auth-certificate-exchange.ps1 -Step N -BackOut    undo what step N changed, from the state it saved
# The state is saved in -StateFolder (default: $HOME\runbook). A downloaded script is blocked
# until you run: Unblock-File -Path .\litwareinc-renew-exchange-auth-certificate-exchange.ps1
# Generated from environments/litwareinc: do not edit.
[CmdletBinding()]
param(
    [ValidateSet('2', '3', '4', '5', '6', '8')]
    [string] $Step,
    [switch] $BackOut,
    [switch] $Preflight,
    [string] $StateFolder = (Join-Path -Path $HOME -ChildPath 'runbook')
)
$ErrorActionPreference = 'Stop'
$StatePath = Join-Path -Path $StateFolder -ChildPath 'litwareinc-renew-exchange-auth-certificate-CHG0012345-exchange-state.xml'

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

# Step 2: The current Auth certificate on every Exchange server. Observe (read-only) and decide.
function Test-RunbookStep2 {
    $observed = @{ NotAfter = @{} }
    $authConfig = Get-AuthConfig -ErrorAction Stop
    $observed.Current = [string]$authConfig.CurrentCertificateThumbprint
    $observed.Staged = [string]$authConfig.NextCertificateThumbprint
    $observed.StagedDate = $authConfig.NextCertificateEffectiveDate
    $observed.Previous = [string]$authConfig.PreviousCertificateThumbprint
    try {
        $certificate = Get-ExchangeCertificate -Server 'atl-exchange-001.litwareinc.com' -Thumbprint $observed.Current -ErrorAction Stop
        $observed.NotAfter['atl-exchange-001.litwareinc.com'] = $certificate.NotAfter
    } catch {
        $observed.NotAfter['atl-exchange-001.litwareinc.com'] = $null
        Write-Warning ('atl-exchange-001.litwareinc.com: ' + $_.Exception.Message)
    }
    $question = ''
    if ($observed.Current -ne '3C5E8F0A1B2C3D4E5F60718293A4B5C6D7E8F90A') {
        $decision = 'stop'
        $reason = 'Get-AuthConfig names another current certificate than 3C5E8F0A1B2C3D4E5F60718293A4B5C6D7E8F90A, the one in the environment file'
        $question = 'Which is right? Correct exchange.auth_certificate in the environment file and build again, or find out who changed the AuthConfig Decides: the Exchange administrator.'
    } elseif ($observed.Current -and @($observed.NotAfter.Values | Where-Object { $null -eq $_ -or $_ -lt (Get-Date) }).Count -eq 0) {
        $decision = 'skip'
        $reason = 'the current Auth certificate is on every listed Exchange server and has not expired'
    } else {
        $decision = 'stop'
        $reason = 'the current Auth certificate is missing on a listed server (or the server did not answer), or it has expired'
        $question = 'A server without the current certificate, or an expired one, is an outage of its own, not a renewal: find out why first Decides: the Exchange administrator.'
    }
    return @{ Observed = $observed; Decision = $decision; Reason = $reason; Question = $question }
}

# Step 3: The new certificate on every Exchange server. Observe (read-only) and decide.
function Test-RunbookStep3 {
    $observed = @{ Next = ''; Found = @{} }
    $observed.Next = '7A0B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5E6F7A8B'

    try {
        $certificate = Get-ExchangeCertificate -Server 'atl-exchange-001.litwareinc.com' -Thumbprint $observed.Next -ErrorAction Stop
        $observed.Found['atl-exchange-001.litwareinc.com'] = @{ NotAfter = $certificate.NotAfter; PrivateKey = [bool]$certificate.HasPrivateKey }
    } catch {
        $observed.Found['atl-exchange-001.litwareinc.com'] = $null
        Write-Warning ('atl-exchange-001.litwareinc.com: ' + $_.Exception.Message)
    }
    $question = ''
    if (@($observed.Found.Values | Where-Object { $null -eq $_ -or -not $_.PrivateKey -or $_.NotAfter -lt (Get-Date).AddDays(30) }).Count -eq 0) {
        $decision = 'skip'
        $reason = 'the new certificate is on every listed Exchange server, with its private key, and valid for 30 days more'
    } else {
        $decision = 'stop'
        $reason = 'the new certificate is missing on a listed server (or the server did not answer), has no private key there, or expires within 30 days'
        $question = 'Put the new certificate, with its private key, on every listed Exchange server, then run this step again. How to create a replacement Auth certificate is not in the saved pages (UNVERIFIED): New-ExchangeCertificate documents the general options [New-ExchangeCertificate.md], not this recipe Decides: the Exchange administrator.'
    }
    return @{ Observed = $observed; Decision = $decision; Reason = $reason; Question = $question }
}

# Step 4: Stage the new certificate. Observe (read-only) and decide.
function Test-RunbookStep4 {
    $observed = @{ Next = ''; Effective = $null }
    $observed.Next = '7A0B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5E6F7A8B'

    $authConfig = Get-AuthConfig -ErrorAction Stop
    $observed.Current = [string]$authConfig.CurrentCertificateThumbprint
    $observed.Staged = [string]$authConfig.NextCertificateThumbprint
    $observed.StagedDate = $authConfig.NextCertificateEffectiveDate
    $observed.Previous = [string]$authConfig.PreviousCertificateThumbprint
    $observed.Effective = ([datetime]'2028-12-01T22:00:00+00:00')
    $observed.CurrentNotAfter = $null
    try {
        $observed.CurrentNotAfter = (Get-ExchangeCertificate -Server 'atl-exchange-001.litwareinc.com' -Thumbprint $observed.Current -ErrorAction Stop).NotAfter
    } catch {
        Write-Warning $_.Exception.Message
    }
    $question = ''
    if ($observed.Staged -eq $observed.Next -or $observed.Current -eq $observed.Next) {
        $decision = 'skip'
        $reason = 'the new certificate is staged already (the AuthConfig''s next certificate), or current'
    } elseif ($observed.CurrentNotAfter -and $observed.Effective -gt (Get-Date) -and $observed.Effective -le $observed.CurrentNotAfter.AddHours(-24) -and -not $observed.Staged) {
        $decision = 'change'
        $reason = 'the effective date lies in the future and at least 24 hours before the current certificate expires, and no other certificate is staged'
    } else {
        $decision = 'stop'
        $reason = 'another certificate is staged, the current one''s expiry is unknown, or the effective date is past or less than 24 hours before it expires'
        $question = 'Replace a staged certificate only knowing why it is there; choose an effective date at least 24 hours before the current certificate expires (as for the Lync roll [S-ROLL]: partners keep tokens of the current one) Decides: the Exchange administrator.'
    }
    return @{ Observed = $observed; Decision = $decision; Reason = $reason; Question = $question }
}

# Step 5: Publish the new certificate. Observe (read-only) and decide.
function Test-RunbookStep5 {
    $observed = @{ Next = ''; CurrentNotAfter = $null }
    $observed.Next = '7A0B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5E6F7A8B'

    $authConfig = Get-AuthConfig -ErrorAction Stop
    $observed.Current = [string]$authConfig.CurrentCertificateThumbprint
    $observed.Staged = [string]$authConfig.NextCertificateThumbprint
    $observed.StagedDate = $authConfig.NextCertificateEffectiveDate
    $observed.Previous = [string]$authConfig.PreviousCertificateThumbprint
    if ($observed.Current -and $observed.Current -ne $observed.Next) {
        $observed.CurrentNotAfter = (Get-ExchangeCertificate -Thumbprint $observed.Current -ErrorAction Stop).NotAfter
    }
    $question = ''
    if ($observed.Current -eq $observed.Next) {
        $decision = 'skip'
        $reason = 'the new certificate is the current one'
    } elseif ($observed.Staged -eq $observed.Next -and $observed.StagedDate -le (Get-Date)) {
        $decision = 'change'
        $reason = 'the new certificate is staged and its effective date has come'
    } else {
        $decision = 'stop'
        $reason = 'the new certificate is not staged, or its effective date has not come yet'
        $question = 'Stage it first (step 4), or run this step again after its effective date Decides: the operator.'
    }
    return @{ Observed = $observed; Decision = $decision; Reason = $reason; Question = $question }
}

# Step 8: Clear the previous certificate. Observe (read-only) and decide.
function Test-RunbookStep8 {
    $observed = @{ Next = '' }
    $observed.Next = '7A0B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5E6F7A8B'

    $authConfig = Get-AuthConfig -ErrorAction Stop
    $observed.Current = [string]$authConfig.CurrentCertificateThumbprint
    $observed.Staged = [string]$authConfig.NextCertificateThumbprint
    $observed.StagedDate = $authConfig.NextCertificateEffectiveDate
    $observed.Previous = [string]$authConfig.PreviousCertificateThumbprint
    $question = ''
    if (-not $observed.Previous) {
        $decision = 'skip'
        $reason = 'the AuthConfig keeps no previous certificate'
    } elseif ($observed.Current -eq $observed.Next) {
        $decision = 'change'
        $reason = 'the new certificate is the current one, and a previous one is kept'
    } else {
        $decision = 'stop'
        $reason = 'the new certificate is not the current one'
        $question = 'Publish it first (step 5), and verify (steps 6 and 7) Decides: the operator.'
    }
    return @{ Observed = $observed; Decision = $decision; Reason = $reason; Question = $question }
}

if ($Preflight) {
    Write-Host 'Pre-flight: read-only, nothing is changed or saved.'
    $result = Test-RunbookStep2
    Write-Host ('Step 2, The current Auth certificate on every Exchange server: ' + $result.Decision + ': ' + $result.Reason)
    if ($result.Question) {
        Write-Host ('    ' + $result.Question)
    }
    $result = Test-RunbookStep3
    Write-Host ('Step 3, The new certificate on every Exchange server: ' + $result.Decision + ': ' + $result.Reason)
    if ($result.Question) {
        Write-Host ('    ' + $result.Question)
    }
    $result = Test-RunbookStep4
    Write-Host ('Step 4, Stage the new certificate: ' + $result.Decision + ': ' + $result.Reason)
    $observed = $result.Observed
    if ($result.Decision -in 'change', 'roll' -and -not ((Read-RunbookState)['3'].Decision -eq 'skip' -and (Read-RunbookState)['3'].Observed.Next -eq $observed.Next)) {
        Write-Host ('    not yet: ' + 'the new certificate is on every listed Exchange server (step 3)')
    }
    if ($result.Question) {
        Write-Host ('    ' + $result.Question)
    }
    $result = Test-RunbookStep5
    Write-Host ('Step 5, Publish the new certificate: ' + $result.Decision + ': ' + $result.Reason)
    if ($result.Question) {
        Write-Host ('    ' + $result.Question)
    }
    $result = Test-RunbookStep8
    Write-Host ('Step 8, Clear the previous certificate: ' + $result.Decision + ': ' + $result.Reason)
    $observed = $result.Observed
    if ($result.Decision -in 'change', 'roll' -and -not ((Read-Host 'Did the tests of steps 6 and 7 pass after the new certificate was published? Type yes') -eq 'yes')) {
        Write-Host ('    not yet: ' + 'the operator confirms that the tests of steps 6 and 7 passed')
    }
    if ($result.Question) {
        Write-Host ('    ' + $result.Question)
    }
    return
}
if (-not $Step) {
    throw 'Give -Preflight, or -Step N (and -BackOut to undo step N): see the first lines of this script.'
}

# Step 2: The current Auth certificate on every Exchange server.
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
    $observed = @{ NotAfter = @{} }
    $authConfig = Get-AuthConfig -ErrorAction Stop
    $observed.Current = [string]$authConfig.CurrentCertificateThumbprint
    $observed.Staged = [string]$authConfig.NextCertificateThumbprint
    $observed.StagedDate = $authConfig.NextCertificateEffectiveDate
    $observed.Previous = [string]$authConfig.PreviousCertificateThumbprint
    try {
        $certificate = Get-ExchangeCertificate -Server 'atl-exchange-001.litwareinc.com' -Thumbprint $observed.Current -ErrorAction Stop
        $observed.NotAfter['atl-exchange-001.litwareinc.com'] = $certificate.NotAfter
    } catch {
        $observed.NotAfter['atl-exchange-001.litwareinc.com'] = $null
        Write-Warning ('atl-exchange-001.litwareinc.com: ' + $_.Exception.Message)
    }
    if (-not ($observed.Current -and @($observed.NotAfter.Values | Where-Object { $null -eq $_ -or $_ -lt (Get-Date) }).Count -eq 0)) {
        throw 'Step 2: NOT VERIFIED: the current Auth certificate is on every listed Exchange server and valid'
    }
    Write-Host 'Step 2 verified: the current Auth certificate is on every listed Exchange server and valid'
}
if ($Step -eq '2' -and $BackOut) {
    Write-Host 'Step 2 changes nothing: nothing to back out.'
}

# Step 3: The new certificate on every Exchange server.
if ($Step -eq '3' -and -not $BackOut) {
    $result = Test-RunbookStep3
    $observed = $result.Observed
    $decision = $result.Decision
    $reason = $result.Reason
    $question = $result.Question
    Save-RunbookState -Step '3' -Observed $observed -Decision $decision -Changed $false
    switch ($decision) {
        'skip' {
            Write-Host ('Step 3: already as intended, nothing to do: ' + $reason)
        }
        'stop' {
            throw ('Step 3: STOP, nothing changed: ' + $reason + '. ' + $question)
        }
    }
    $observed = @{ Next = ''; Found = @{} }
    $observed.Next = '7A0B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5E6F7A8B'

    try {
        $certificate = Get-ExchangeCertificate -Server 'atl-exchange-001.litwareinc.com' -Thumbprint $observed.Next -ErrorAction Stop
        $observed.Found['atl-exchange-001.litwareinc.com'] = @{ NotAfter = $certificate.NotAfter; PrivateKey = [bool]$certificate.HasPrivateKey }
    } catch {
        $observed.Found['atl-exchange-001.litwareinc.com'] = $null
        Write-Warning ('atl-exchange-001.litwareinc.com: ' + $_.Exception.Message)
    }
    if (-not (@($observed.Found.Values | Where-Object { $null -eq $_ -or -not $_.PrivateKey -or $_.NotAfter -lt (Get-Date).AddDays(30) }).Count -eq 0)) {
        throw 'Step 3: NOT VERIFIED: the new certificate is on every listed Exchange server, with its private key'
    }
    Write-Host 'Step 3 verified: the new certificate is on every listed Exchange server, with its private key'
}
if ($Step -eq '3' -and $BackOut) {
    Write-Host 'Step 3 changes nothing: nothing to back out.'
}

# Step 4: Stage the new certificate.
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
            if (-not ((Read-RunbookState)['3'].Decision -eq 'skip' -and (Read-RunbookState)['3'].Observed.Next -eq $observed.Next)) {
                throw 'Step 4: STOP, not changed: this must hold first: the new certificate is on every listed Exchange server (step 3)'
            }
            Save-RunbookState -Step '4' -Observed $observed -Decision $decision -Changed $true
            Set-AuthConfig -NewCertificateThumbprint '7A0B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5E6F7A8B' -NewCertificateEffectiveDate ([datetime]'2028-12-01T22:00:00+00:00') -ErrorAction Stop
            Write-Host ('Step 4: changed, because ' + $reason)
        }
        'stop' {
            throw ('Step 4: STOP, nothing changed: ' + $reason + '. ' + $question)
        }
    }
    $observed = @{ Next = ''; Effective = $null }
    $observed.Next = '7A0B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5E6F7A8B'

    $authConfig = Get-AuthConfig -ErrorAction Stop
    $observed.Current = [string]$authConfig.CurrentCertificateThumbprint
    $observed.Staged = [string]$authConfig.NextCertificateThumbprint
    $observed.StagedDate = $authConfig.NextCertificateEffectiveDate
    $observed.Previous = [string]$authConfig.PreviousCertificateThumbprint
    $observed.Effective = ([datetime]'2028-12-01T22:00:00+00:00')
    $observed.CurrentNotAfter = $null
    try {
        $observed.CurrentNotAfter = (Get-ExchangeCertificate -Server 'atl-exchange-001.litwareinc.com' -Thumbprint $observed.Current -ErrorAction Stop).NotAfter
    } catch {
        Write-Warning $_.Exception.Message
    }
    if (-not ($observed.Staged -eq $observed.Next -or $observed.Current -eq $observed.Next)) {
        throw 'Step 4: NOT VERIFIED: Get-AuthConfig names the new certificate as the next one, or the current one'
    }
    Write-Host 'Step 4 verified: Get-AuthConfig names the new certificate as the next one, or the current one'
}
if ($Step -eq '4' -and $BackOut) {
    $saved = (Read-RunbookState)['4']
    if ($null -eq $saved) {
        throw ('Step 4: no saved state in ' + $StatePath + ': the step did not run with this state file, so nothing is backed out')
    }
    if (-not $saved.Changed) {
        Write-Host ('Step 4 changed nothing (' + $saved.Decision + '): nothing to back out.')
    } else {
        Write-Warning 'Clearing a staged Auth certificate is not documented (UNVERIFIED): it stays staged; do not publish it (step 5).'
    }
}

# Step 5: Publish the new certificate.
if ($Step -eq '5' -and -not $BackOut) {
    $result = Test-RunbookStep5
    $observed = $result.Observed
    $decision = $result.Decision
    $reason = $result.Reason
    $question = $result.Question
    Save-RunbookState -Step '5' -Observed $observed -Decision $decision -Changed $false
    switch ($decision) {
        'skip' {
            Write-Host ('Step 5: already as intended, nothing to do: ' + $reason)
        }
        'change' {
            Save-RunbookState -Step '5' -Observed $observed -Decision $decision -Changed $true
            Set-AuthConfig -PublishCertificate -ErrorAction Stop
            Write-Host ('Step 5: changed, because ' + $reason)
        }
        'stop' {
            throw ('Step 5: STOP, nothing changed: ' + $reason + '. ' + $question)
        }
    }
    $observed = @{ Next = ''; CurrentNotAfter = $null }
    $observed.Next = '7A0B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5E6F7A8B'

    $authConfig = Get-AuthConfig -ErrorAction Stop
    $observed.Current = [string]$authConfig.CurrentCertificateThumbprint
    $observed.Staged = [string]$authConfig.NextCertificateThumbprint
    $observed.StagedDate = $authConfig.NextCertificateEffectiveDate
    $observed.Previous = [string]$authConfig.PreviousCertificateThumbprint
    if ($observed.Current -and $observed.Current -ne $observed.Next) {
        $observed.CurrentNotAfter = (Get-ExchangeCertificate -Thumbprint $observed.Current -ErrorAction Stop).NotAfter
    }
    if (-not ($observed.Current -eq $observed.Next)) {
        throw 'Step 5: NOT VERIFIED: Get-AuthConfig names the new certificate as the current one; -PublishCertificate deploys it to every Client Access server at once [Set-AuthConfig.md]'
    }
    Write-Host 'Step 5 verified: Get-AuthConfig names the new certificate as the current one; -PublishCertificate deploys it to every Client Access server at once [Set-AuthConfig.md]'
}
if ($Step -eq '5' -and $BackOut) {
    $saved = (Read-RunbookState)['5']
    if ($null -eq $saved) {
        throw ('Step 5: no saved state in ' + $StatePath + ': the step did not run with this state file, so nothing is backed out')
    }
    if (-not $saved.Changed) {
        Write-Host ('Step 5 changed nothing (' + $saved.Decision + '): nothing to back out.')
    } else {
        $previous = [string]$saved.Observed.Current
        if (-not $saved.Observed.CurrentNotAfter -or (Get-Date) -ge $saved.Observed.CurrentNotAfter) {
            throw ('Step 5: the previous certificate ' + $previous + ' has expired: it cannot be made current again; fix forward')
        }
        if ([string](Get-AuthConfig -ErrorAction Stop).PreviousCertificateThumbprint -ne $previous) {
            throw ('Step 5: the AuthConfig no longer keeps ' + $previous + ' as the previous certificate (cleared in step 8?): find out before going on')
        }
        if ((Read-Host ('Make ' + $previous + ' the current Auth certificate again? Type yes')) -eq 'yes') {
            Set-AuthConfig -CertificateThumbprint $previous -ErrorAction Stop
            Get-AuthConfig -ErrorAction Stop | Format-List | Out-String | Write-Host
        }
    }
}

# Step 6: OAuth from Exchange.
if ($Step -eq '6' -and -not $BackOut) {
    $mailbox = Read-Host 'E-mail address of a mailbox to test with'
    $result = Test-OAuthConnectivity -Service EWS -TargetUri 'https://atl-exchange-001.litwareinc.com/ews/' -Mailbox $mailbox -ErrorAction Stop
    $result | Format-List | Out-String | Write-Host
    if ((Read-Host 'Did the test report success, with no error? Type yes') -ne 'yes') {
        throw 'Step 6: NOT VERIFIED: see this step on the page, and do not go on'
    }
    Write-Host 'Step 6 verified: the operator confirms that Test-OAuthConnectivity reported success for EWS on atl-exchange-001.litwareinc.com (its output on success is not documented: UNVERIFIED)'
}
if ($Step -eq '6' -and $BackOut) {
    Write-Host 'Step 6 changes nothing: nothing to back out.'
}

# Step 8: Clear the previous certificate.
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
            if (-not ((Read-Host 'Did the tests of steps 6 and 7 pass after the new certificate was published? Type yes') -eq 'yes')) {
                throw 'Step 8: STOP, not changed: this must hold first: the operator confirms that the tests of steps 6 and 7 passed'
            }
            Save-RunbookState -Step '8' -Observed $observed -Decision $decision -Changed $true
            Set-AuthConfig -ClearPreviousCertificate -ErrorAction Stop
            Write-Host ('Step 8: changed, because ' + $reason)
        }
        'stop' {
            throw ('Step 8: STOP, nothing changed: ' + $reason + '. ' + $question)
        }
    }
    $observed = @{ Next = '' }
    $observed.Next = '7A0B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5E6F7A8B'

    $authConfig = Get-AuthConfig -ErrorAction Stop
    $observed.Current = [string]$authConfig.CurrentCertificateThumbprint
    $observed.Staged = [string]$authConfig.NextCertificateThumbprint
    $observed.StagedDate = $authConfig.NextCertificateEffectiveDate
    $observed.Previous = [string]$authConfig.PreviousCertificateThumbprint
    if (-not (-not $observed.Previous)) {
        throw 'Step 8: NOT VERIFIED: the AuthConfig keeps no previous certificate'
    }
    Write-Host 'Step 8 verified: the AuthConfig keeps no previous certificate'
}
if ($Step -eq '8' -and $BackOut) {
    $saved = (Read-RunbookState)['8']
    if ($null -eq $saved) {
        throw ('Step 8: no saved state in ' + $StatePath + ': the step did not run with this state file, so nothing is backed out')
    }
    if (-not $saved.Changed) {
        Write-Host ('Step 8 changed nothing (' + $saved.Decision + '): nothing to back out.')
    } else {
        Write-Host ('The previous certificate was ' + $saved.Observed.Previous + ': Set-AuthConfig -CertificateThumbprint can make it current again while it is valid.')
    }
}
