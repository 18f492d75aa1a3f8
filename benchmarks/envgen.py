"""Deterministic synthetic projects for the benchmarks: N environment files, no randomness.

``make_project(root, n)`` copies the repository's docs project (mkdocs.yml, docs/, templates/,
schema/, the example certificate) into ``root`` and writes ``environments/env-00001.yml`` ...
``env-<n>.yml``, cycling through the product combinations, both DNS record kinds and a
certificate file every fourth environment. The same ``n`` always gives the same bytes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

LYNC = ("lync2013", "sfb2015", "sfb2019")
EXCHANGE = ("exchange2013", "exchange2016")  # documented pairs only: no warnings


def environment_name(i: int) -> str:
    """The name of the i-th synthetic environment (1-based): env-00001, env-00002, ..."""
    return f"env-{i:05d}"


def environment_yaml(i: int, *, title_suffix: str = "") -> str:
    """The YAML text of the i-th synthetic environment."""
    name = environment_name(i)
    lync, exchange = LYNC[i % 3], EXCHANGE[(i // 3) % 2]
    if i % 4 == 0:
        # Shares the example certificate (CN=pool01.contoso.com), so it lives in contoso.com.
        domain = sip = "contoso.com"
        certificate = "  oauth_certificate:\n    file: certs/contoso-oauth.cer\n"
    else:
        domain = f"{name}.example.com"
        sip = f"{name}.example.net" if i % 5 == 0 else domain
        certificate = (
            "  oauth_certificate:\n"
            f"    subject: CN={sip}, O=Customer {i}\n"
            "    key_size: 2048\n"
            f'    thumbprint: "{i:040X}"\n'
            "    not_after: 2029-03-31\n"
        )
    front_ends = "".join(f"    - fe{k}.{name}.{domain}\n" for k in range(1 + i % 3))
    servers = "".join(f"    - ex{k}.{name}.{domain}\n" for k in range(1 + i % 2))
    if i % 2:
        dns = (
            f"dns:\n  zone: {domain}\n  autodiscover_record: a\n  address: 192.0.2.{i % 250 + 1}\n"
        )
    else:
        dns = f"dns:\n  server: dc01.{domain}\n"
    return (
        f"# Synthetic environment {i} for the benchmarks.\n"
        f"title: Customer {i}{title_suffix}\n"
        f"description: Benchmark environment {i} of the synthetic set\n"
        f"domain: {domain}\n"
        f"sip_domain: {sip}\n"
        "\n"
        "lync:\n"
        f"  product: {lync}\n"
        f"  pool: pool.{name}.{domain}\n"
        f"  front_ends:\n{front_ends}"
        f"{certificate}"
        f"  test_user: sip:user{i}@{sip}\n"
        "\n"
        "exchange:\n"
        f"  product: {exchange}\n"
        f"  servers:\n{servers}"
        f"  autodiscover_host: autodiscover-{name}.{domain}\n"
        "\n"
        f"{dns}"
        "\n"
        "change:\n"
        f"  id: CHG{i:07d}\n"
        f"  summary: Integrate {lync} with {exchange}\n"
        "  requested_by: Ana Trujillo\n"
        "  implementer: Ken Myer\n"
        "  window_start: 2027-01-16T20:00:00-08:00\n"
        "  window_end: 2027-01-17T00:00:00-08:00\n"
        f"  risk: {('low', 'medium', 'high')[i % 3]}\n"
    )


def make_project(
    root: Path,
    n: int,
    *,
    with_docs: bool = True,
    change_requests: bool = False,
    source: Path | None = None,
) -> Path:
    """Create a docs project with ``n`` synthetic environments in ``root``; return ``root``.

    Without ``change_requests`` the plugin leaves the PDFs out (and the build is not strict:
    the overview pages link to them), so the site benchmarks time the pages alone. ``source``
    is the repository (or a snapshot of it) to copy mkdocs.yml, docs, templates from."""
    repo = source or REPO
    root.mkdir(parents=True, exist_ok=True)
    config = (repo / "mkdocs.yml").read_text("utf-8")
    if not change_requests:
        config = config.replace("strict: true", "strict: false")
        config = config.replace("  - runbook\n", "  - runbook:\n      change_requests: false\n")
    (root / "mkdocs.yml").write_text(config, "utf-8")
    for folder in ("templates", "schema"):
        shutil.copytree(repo / folder, root / folder, dirs_exist_ok=True)
    docs = root / "docs"
    docs.mkdir(exist_ok=True)
    if with_docs:
        for page in sorted((repo / "docs").glob("*.md")):
            shutil.copy2(page, docs / page.name)
        if (repo / "docs" / "stylesheets").is_dir():
            shutil.copytree(repo / "docs" / "stylesheets", docs / "stylesheets", dirs_exist_ok=True)
    envs = root / "environments"
    (envs / "certs").mkdir(parents=True, exist_ok=True)
    shutil.copy2(
        repo / "environments" / "certs" / "contoso-oauth.cer", envs / "certs" / "contoso-oauth.cer"
    )
    for i in range(1, n + 1):
        (envs / f"{environment_name(i)}.yml").write_text(environment_yaml(i), "utf-8")
    return root
