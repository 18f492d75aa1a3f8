# runbook 0.1.0: Integration of Lync Server 2013 with Exchange Server 2013, environment 'litwareinc' (Litware Inc.).
# The Exchange Management Shell steps (3, 5, 7, 10), to run on atl-exchange-001.litwareinc.com, one at a time, in the
# order of the checklist of the runbook page (the other steps run in other shells):
#   .\litwareinc-exchange.ps1 -Preflight          read-only: what each step would do now
#   .\litwareinc-exchange.ps1 -Step N             observe, decide, change only what the decision selects, verify
#   .\litwareinc-exchange.ps1 -Step N -BackOut    undo what step N changed, from the state it saved
# The state is saved in -StateFolder (default: $HOME\runbook). A downloaded script is blocked
# until you run: Unblock-File -Path .\litwareinc-exchange.ps1
# Generated from environments/litwareinc: do not edit.
[CmdletBinding()]
param(
    [ValidateSet('3', '5', '7', '10')]
    [string] $Step,
    [switch] $BackOut,
    [switch] $Preflight,
    [string] $StateFolder = (Join-Path -Path $HOME -ChildPath 'runbook')
)
$ErrorActionPreference = 'Stop'
$StatePath = Join-Path -Path $StateFolder -ChildPath 'litwareinc-integration-CHG0012345-exchange-state.xml'

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

# Step 3: Exchange certificates. Observe (read-only) and decide.
function Test-RunbookStep3 {
    $authConfig = Get-AuthConfig -ErrorAction Stop
    $observed = @{ Thumbprint = [string]$authConfig.CurrentCertificateThumbprint; NotAfter = @{}; Errors = @{}; IisNames = @{} }
    $certificates = @(Get-ExchangeCertificate -Server 'atl-exchange-001.litwareinc.com' -ErrorAction Stop)
    $observed.IisNames['atl-exchange-001.litwareinc.com'] = @($certificates | Where-Object { [string]$_.Services -match 'IIS' } | ForEach-Object { $_.CertificateDomains } | ForEach-Object { [string]$_ })
    try {
        $certificate = Get-ExchangeCertificate -Server 'atl-exchange-001.litwareinc.com' -Thumbprint $observed.Thumbprint -ErrorAction Stop
        $observed.NotAfter['atl-exchange-001.litwareinc.com'] = $certificate.NotAfter
    } catch {
        $observed.NotAfter['atl-exchange-001.litwareinc.com'] = $null
        $observed.Errors['atl-exchange-001.litwareinc.com'] = $_.Exception.Message
        Write-Warning ('atl-exchange-001.litwareinc.com: ' + $_.Exception.Message)
    }
    $question = ''
    if ($observed.Thumbprint -and @($observed.NotAfter.Values | Where-Object { $null -eq $_ -or $_ -lt (Get-Date).AddDays(30) }).Count -eq 0 -and @($observed.IisNames.Values | Where-Object { @($_ | Where-Object { $_ -eq 'autodiscover.litwareinc.com' -or $_ -eq '*.litwareinc.com' }).Count -eq 0 }).Count -eq 0) {
        $decision = 'skip'
        $reason = 'the Auth certificate of Get-AuthConfig is on every listed Exchange server and does not expire within 30 days, and the certificate assigned to IIS on each names autodiscover.litwareinc.com (or *.litwareinc.com)'
    } elseif (@($observed.IisNames.Values | Where-Object { @($_ | Where-Object { $_ -eq 'autodiscover.litwareinc.com' -or $_ -eq '*.litwareinc.com' }).Count -eq 0 }).Count -gt 0) {
        $decision = 'stop'
        $reason = 'the certificate assigned to IIS on a listed server does not name autodiscover.litwareinc.com'
        $question = 'Every DNS name clients use to reach Exchange must be in its certificate [X-CERTS]: Outlook''s autodiscover and Lync (step 8 reads https://autodiscover.litwareinc.com/autodiscover/metadata/json/1) reach it as autodiscover.litwareinc.com. Add the name to the certificate in a change of its own, then run this step again Decides: the Exchange administrator.'
    } else {
        $decision = 'stop'
        $reason = 'the Auth certificate is missing on a listed server (or the server did not answer; the warnings above say which), or it expires within 30 days'
        $question = 'If a server did not answer, find out why and run this step again. Otherwise renew the Exchange Auth certificate first, in a change of its own (procedure renew-exchange-auth-certificate [Set-AuthConfig.md])? Decides: the Exchange administrator.'
    }
    return @{ Observed = $observed; Decision = $decision; Reason = $reason; Question = $question }
}

# Step 5: Exchange autodiscover URI. Observe (read-only) and decide.
function Test-RunbookStep5 {
    $observed = @{ Uri = @{} }
    $service = Get-ClientAccessServer -Identity 'atl-exchange-001.litwareinc.com' -ErrorAction Stop
    $observed.Uri['atl-exchange-001.litwareinc.com'] = [string]$service.AutoDiscoverServiceInternalUri
    $observed.Resolves = @(Resolve-DnsName -Name 'autodiscover.litwareinc.com' -DnsOnly -ErrorAction SilentlyContinue).Count -gt 0
    $question = ''
    if (@($observed.Uri.Values | Where-Object { $_ -ne 'https://autodiscover.litwareinc.com/autodiscover/autodiscover.xml' }).Count -eq 0) {
        $decision = 'skip'
        $reason = 'every listed Exchange server has AutoDiscoverServiceInternalUri https://autodiscover.litwareinc.com/autodiscover/autodiscover.xml'
    } elseif (@($observed.Uri.Values | Where-Object { $_ -ne 'https://autodiscover.litwareinc.com/autodiscover/autodiscover.xml' -and $_ -ne '' }).Count -eq 0) {
        $decision = 'change'
        $reason = 'the URI is blank on some listed servers (and as intended on the others)'
    } else {
        $decision = 'stop'
        $reason = 'a listed server has another URI, which Outlook clients use today'
        $question = 'Keep the URI in use (the documented requirement is only that it is not blank [L-PRE]: go on with step 6), or change it in a change of its own, planned for the Outlook clients that follow it? Decides: the Exchange administrator.'
    }
    return @{ Observed = $observed; Decision = $decision; Reason = $reason; Question = $question }
}

# Step 7: Register Lync as a partner application in Exchange. Observe (read-only) and decide.
function Test-RunbookStep7 {
    $observed = @{ Applications = @(Get-PartnerApplication -ErrorAction Stop | Select-Object -Property Name, Enabled, AuthMetadataUrl, ApplicationIdentifier) }
    $question = ''
    if (@($observed.Applications | Where-Object { $_.AuthMetadataUrl -eq 'https://atl-cs-001.litwareinc.com/metadata/json/1' -and $_.Enabled }).Count -gt 0) {
        $decision = 'skip'
        $reason = 'an enabled partner application has the metadata URL https://atl-cs-001.litwareinc.com/metadata/json/1'
    } elseif (@($observed.Applications | Where-Object { $_.AuthMetadataUrl -eq 'https://atl-cs-001.litwareinc.com/metadata/json/1' }).Count -gt 0) {
        $decision = 'stop'
        $reason = 'a partner application with this metadata URL exists, but it is disabled'
        $question = 'Someone disabled it: find out why, then enable it (Set-PartnerApplication -Enabled $true [Set-PartnerApplication.md]) or leave it off? Decides: the Exchange administrator.'
    } elseif (@($observed.Applications | Where-Object { [string]$_.ApplicationIdentifier -eq '00000004-0000-0ff1-ce00-000000000000' -or [string]$_.AuthMetadataUrl -match '^https://[^/]+/metadata/json/1$' }).Count -gt 0) {
        $decision = 'stop'
        $reason = 'another partner application looks like a Lync pool''s: Lync''s application identifier 00000004-0000-0ff1-ce00-000000000000 (the service name [L-ONPREM]), or a metadata URL of the form https://host/metadata/json/1'
        $question = 'Exchange already trusts a Lync partner application (another pool, a migration, an earlier attempt): if it is this pool''s under another name, there is nothing to do [S-S2S]; running the script again could make a second one. Keep it, or change it in a change of its own? Decides: the Exchange administrator, with the Lync administrator.'
    } else {
        $decision = 'change'
        $reason = 'no partner application is Lync''s (the others are left as they are)'
    }
    return @{ Observed = $observed; Decision = $decision; Reason = $reason; Question = $question }
}

if ($Preflight) {
    Write-Host 'Pre-flight: read-only, nothing is changed or saved.'
    $result = Test-RunbookStep3
    Write-Host ('Step 3, Exchange certificates: ' + $result.Decision + ': ' + $result.Reason)
    if ($result.Question) {
        Write-Host ('    ' + $result.Question)
    }
    $result = Test-RunbookStep5
    Write-Host ('Step 5, Exchange autodiscover URI: ' + $result.Decision + ': ' + $result.Reason)
    $observed = $result.Observed
    if ($result.Decision -in 'change', 'roll' -and -not ($observed.Resolves)) {
        Write-Host ('    not yet: ' + 'autodiscover.litwareinc.com resolves from this Exchange server (step 4; just after it, run Clear-DnsClientCache here, and wait for the zone to replicate to the DNS server this server asks)')
    }
    if ($result.Question) {
        Write-Host ('    ' + $result.Question)
    }
    $result = Test-RunbookStep7
    Write-Host ('Step 7, Register Lync as a partner application in Exchange: ' + $result.Decision + ': ' + $result.Reason)
    if ($result.Question) {
        Write-Host ('    ' + $result.Question)
    }
    return
}
if (-not $Step) {
    throw 'Give -Preflight, or -Step N (and -BackOut to undo step N): see the first lines of this script.'
}

# Step 3: Exchange certificates.
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
    $authConfig = Get-AuthConfig -ErrorAction Stop
    $observed = @{ Thumbprint = [string]$authConfig.CurrentCertificateThumbprint; NotAfter = @{}; Errors = @{}; IisNames = @{} }
    $certificates = @(Get-ExchangeCertificate -Server 'atl-exchange-001.litwareinc.com' -ErrorAction Stop)
    $observed.IisNames['atl-exchange-001.litwareinc.com'] = @($certificates | Where-Object { [string]$_.Services -match 'IIS' } | ForEach-Object { $_.CertificateDomains } | ForEach-Object { [string]$_ })
    try {
        $certificate = Get-ExchangeCertificate -Server 'atl-exchange-001.litwareinc.com' -Thumbprint $observed.Thumbprint -ErrorAction Stop
        $observed.NotAfter['atl-exchange-001.litwareinc.com'] = $certificate.NotAfter
    } catch {
        $observed.NotAfter['atl-exchange-001.litwareinc.com'] = $null
        $observed.Errors['atl-exchange-001.litwareinc.com'] = $_.Exception.Message
        Write-Warning ('atl-exchange-001.litwareinc.com: ' + $_.Exception.Message)
    }
    if (-not ($observed.Thumbprint -and @($observed.NotAfter.Values | Where-Object { $null -eq $_ -or $_ -lt (Get-Date).AddDays(30) }).Count -eq 0 -and @($observed.IisNames.Values | Where-Object { @($_ | Where-Object { $_ -eq 'autodiscover.litwareinc.com' -or $_ -eq '*.litwareinc.com' }).Count -eq 0 }).Count -eq 0)) {
        throw 'Step 3: NOT VERIFIED: the Auth certificate is on every listed Exchange server and valid for 30 days more, and IIS''s certificate names autodiscover.litwareinc.com there'
    }
    Write-Host 'Step 3 verified: the Auth certificate is on every listed Exchange server and valid for 30 days more, and IIS''s certificate names autodiscover.litwareinc.com there'
}
if ($Step -eq '3' -and $BackOut) {
    Write-Host 'Step 3 changes nothing: nothing to back out.'
}

# Step 5: Exchange autodiscover URI.
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
            if (-not ($observed.Resolves)) {
                throw 'Step 5: STOP, not changed: this must hold first: autodiscover.litwareinc.com resolves from this Exchange server (step 4; just after it, run Clear-DnsClientCache here, and wait for the zone to replicate to the DNS server this server asks)'
            }
            Save-RunbookState -Step '5' -Observed $observed -Decision $decision -Changed $true
            if ($observed.Uri['atl-exchange-001.litwareinc.com'] -eq '') {
                Set-ClientAccessServer -Identity 'atl-exchange-001.litwareinc.com' -AutoDiscoverServiceInternalUri 'https://autodiscover.litwareinc.com/autodiscover/autodiscover.xml' -ErrorAction Stop
            }
            Write-Host ('Step 5: changed, because ' + $reason)
        }
        'stop' {
            throw ('Step 5: STOP, nothing changed: ' + $reason + '. ' + $question)
        }
    }
    $observed = @{ Uri = @{} }
    $service = Get-ClientAccessServer -Identity 'atl-exchange-001.litwareinc.com' -ErrorAction Stop
    $observed.Uri['atl-exchange-001.litwareinc.com'] = [string]$service.AutoDiscoverServiceInternalUri
    $observed.Resolves = @(Resolve-DnsName -Name 'autodiscover.litwareinc.com' -DnsOnly -ErrorAction SilentlyContinue).Count -gt 0
    if (-not (@($observed.Uri.Values | Where-Object { $_ -ne 'https://autodiscover.litwareinc.com/autodiscover/autodiscover.xml' }).Count -eq 0)) {
        throw 'Step 5: NOT VERIFIED: every listed Exchange server has AutoDiscoverServiceInternalUri https://autodiscover.litwareinc.com/autodiscover/autodiscover.xml'
    }
    Write-Host 'Step 5 verified: every listed Exchange server has AutoDiscoverServiceInternalUri https://autodiscover.litwareinc.com/autodiscover/autodiscover.xml'
}
if ($Step -eq '5' -and $BackOut) {
    $saved = (Read-RunbookState)['5']
    if ($null -eq $saved) {
        throw ('Step 5: no saved state in ' + $StatePath + ': the step did not run with this state file, so nothing is backed out')
    }
    if (-not $saved.Changed) {
        Write-Host ('Step 5 changed nothing (' + $saved.Decision + '): nothing to back out.')
    } else {
        Write-Host ('atl-exchange-001.litwareinc.com' + ': AutoDiscoverServiceInternalUri was ''' + $saved.Observed.Uri['atl-exchange-001.litwareinc.com'] + ''' before the change.')
        Write-Warning 'Clearing the URI is not documented (UNVERIFIED): it is left as it is.'
    }
}

# Step 7: Register Lync as a partner application in Exchange.
if ($Step -eq '7' -and -not $BackOut) {
    $result = Test-RunbookStep7
    $observed = $result.Observed
    $decision = $result.Decision
    $reason = $result.Reason
    $question = $result.Question
    Save-RunbookState -Step '7' -Observed $observed -Decision $decision -Changed $false
    switch ($decision) {
        'skip' {
            Write-Host ('Step 7: already as intended, nothing to do: ' + $reason)
        }
        'stop' {
            throw ('Step 7: STOP, nothing changed: ' + $reason + '. ' + $question)
        }
        'change' {
            Save-RunbookState -Step '7' -Observed $observed -Decision $decision -Changed $true
            Push-Location -Path (Join-Path -Path $env:ExchangeInstallPath -ChildPath 'Scripts')
            try {
                .\Configure-EnterprisePartnerApplication.ps1 -AuthMetadataUrl 'https://atl-cs-001.litwareinc.com/metadata/json/1' -ApplicationType Lync
            } finally {
                Pop-Location
            }
            Write-Host ('Restarting IIS on ' + 'atl-exchange-001.litwareinc.com' + ' drops Outlook on the web, ActiveSync, EWS, Autodiscover and Outlook connections to it for a minute or two.')
            if ((Read-Host ('Restart IIS on ' + 'atl-exchange-001.litwareinc.com' + ' now? Type yes to restart')) -eq 'yes') {
                iisreset 'atl-exchange-001.litwareinc.com'
                if ($LASTEXITCODE -ne 0) {
                    throw ('iisreset ' + 'atl-exchange-001.litwareinc.com' + ' failed with exit code ' + $LASTEXITCODE + ': check IIS on that server before going on')
                }
            } else {
                Write-Warning ('IIS on ' + 'atl-exchange-001.litwareinc.com' + ' was not restarted: restart it later in the window (recommended [L-PA]).')
            }
            Write-Host ('Step 7: changed, because ' + $reason)
        }
    }
    $observed = @{ Applications = @(Get-PartnerApplication -ErrorAction Stop | Select-Object -Property Name, Enabled, AuthMetadataUrl, ApplicationIdentifier) }
    if (-not (@($observed.Applications | Where-Object { $_.AuthMetadataUrl -eq 'https://atl-cs-001.litwareinc.com/metadata/json/1' -and $_.Enabled }).Count -gt 0)) {
        throw 'Step 7: NOT VERIFIED: an enabled partner application has the metadata URL https://atl-cs-001.litwareinc.com/metadata/json/1'
    }
    Write-Host 'Step 7 verified: an enabled partner application has the metadata URL https://atl-cs-001.litwareinc.com/metadata/json/1'
}
if ($Step -eq '7' -and $BackOut) {
    $saved = (Read-RunbookState)['7']
    if ($null -eq $saved) {
        throw ('Step 7: no saved state in ' + $StatePath + ': the step did not run with this state file, so nothing is backed out')
    }
    if (-not $saved.Changed) {
        Write-Host ('Step 7 changed nothing (' + $saved.Decision + '): nothing to back out.')
    } else {
        $before = @($saved.Observed.Applications | ForEach-Object { [string]$_.Name })
        $applications = @(Get-PartnerApplication -ErrorAction Stop)
        foreach ($application in $applications) {
            if ($before -notcontains [string]$application.Name -and [string]$application.AuthMetadataUrl -eq 'https://atl-cs-001.litwareinc.com/metadata/json/1') {
                if ((Read-Host ('Disable the partner application ' + $application.Name + '? Type yes to disable')) -eq 'yes') {
                    Set-PartnerApplication -Identity ([string]$application.Name) -Enabled $false -ErrorAction Stop
                    Write-Host ('Disabled the partner application ' + $application.Name)
                }
            }
        }
    }
}

# Step 10: OAuth from Exchange.
if ($Step -eq '10' -and -not $BackOut) {
    $mailbox = Read-Host 'E-mail address of a mailbox to test with'
    $result = Test-OAuthConnectivity -Service EWS -TargetUri 'https://atl-exchange-001.litwareinc.com/ews/' -Mailbox $mailbox -ErrorAction Stop
    $result | Format-List | Out-String | Write-Host
    if ((Read-Host 'Did the test report success, with no error? Type yes') -ne 'yes') {
        throw 'Step 10: NOT VERIFIED: see this step on the page, and do not go on'
    }
    Write-Host 'Step 10 verified: the operator confirms that Test-OAuthConnectivity reported success for EWS on atl-exchange-001.litwareinc.com (the documented example; its output on success, and a test toward Lync, are not documented: UNVERIFIED; the server''s name must be in the certificate IIS uses there)'
}
if ($Step -eq '10' -and $BackOut) {
    Write-Host 'Step 10 changes nothing: nothing to back out.'
}
