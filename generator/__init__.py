"""runbook: tailored Lync/Skype for Business <-> Exchange integration runbooks from YAML."""

__version__ = "0.1.0"
