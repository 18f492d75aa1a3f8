# runbook 0.1.0: Windows PowerShell (DnsServer module) commands for environment 'litwareinc'.
# Run on a DNS server of the zone litwareinc.com, step by step, as in the runbook. Generated: do not edit.
$ErrorActionPreference = 'Stop'

# Step 5: DNS record for autodiscover.litwareinc.com - pre-check
Resolve-DnsName -Name 'autodiscover.litwareinc.com' -DnsOnly -ErrorAction SilentlyContinue

# Step 5: DNS record for autodiscover.litwareinc.com - change
Add-DnsServerResourceRecordCName -Name 'autodiscover' -HostNameAlias 'atl-exchange-001.litwareinc.com' -ZoneName 'litwareinc.com'

# Step 5: DNS record for autodiscover.litwareinc.com - verify
Resolve-DnsName -Name 'autodiscover.litwareinc.com' -DnsOnly
