# runbook 0.1.0: Windows PowerShell (DnsServer module) commands for environment 'fabrikam'.
# Run on a DNS server of the zone corp.fabrikam.com, step by step, as in the runbook. Generated: do not edit.
$ErrorActionPreference = 'Stop'

# Step 5: DNS record for autodiscover.corp.fabrikam.com - pre-check
Resolve-DnsName -Name 'autodiscover.corp.fabrikam.com' -DnsOnly -ErrorAction SilentlyContinue

# Step 5: DNS record for autodiscover.corp.fabrikam.com - change
Add-DnsServerResourceRecordA -Name 'autodiscover' -IPv4Address '192.0.2.25' -ZoneName 'corp.fabrikam.com'

# Step 5: DNS record for autodiscover.corp.fabrikam.com - verify
Resolve-DnsName -Name 'autodiscover.corp.fabrikam.com' -DnsOnly
