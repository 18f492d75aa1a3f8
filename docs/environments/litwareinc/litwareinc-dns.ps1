# runbook 0.1.0: Windows DNS commands for environment 'litwareinc' (DnsServer module).
# Step 5 of the runbook. Generated: do not edit.
$ErrorActionPreference = 'Stop'

# Step 5: DNS record - pre-check (no answer is expected before the change; if the name already
# resolves to the target, skip the change)
Resolve-DnsName -Name 'autodiscover.litwareinc.com' -DnsOnly -ErrorAction SilentlyContinue

# Step 5: DNS record - change
Add-DnsServerResourceRecordCName -Name 'autodiscover' -HostNameAlias 'atl-exchange-001.litwareinc.com' -ZoneName 'litwareinc.com'

# Step 5: DNS record - verify
Resolve-DnsName -Name 'autodiscover.litwareinc.com' -DnsOnly
