"""Regeneration: incremental (content hashes), deterministic, atomic under SIGKILL, deletion
through the manifest only, hand-written files untouched, concurrent builds serialised."""

from __future__ import annotations

import collections
import hashlib
import importlib.metadata
import json
import os
import pickle
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path, PurePosixPath
from types import SimpleNamespace

import pytest
from conftest import REPO, TODAY, git, snapshot

from generator import cache, writing
from generator.errors import Diagnostic, OutputError
from generator.project import Project, build, generate

sys.path.insert(0, str(REPO / "benchmarks"))
import envgen

OUT = Path("docs") / "environments"
ENV = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}


def _runbook(
    project: Path, *args: str, seed: str = "0", cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    env = {**ENV, "PYTHONHASHSEED": seed}
    return subprocess.Popen(
        [sys.executable, "-m", "generator", "build", "--project", str(project), *args],
        cwd=cwd or project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _run_ok(process: subprocess.Popen[bytes]) -> str:
    _out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err.decode()
    return err.decode()


def _synthetic(root: Path, n: int) -> Path:
    envgen.make_project(root, n, change_requests=False)
    return root


def _edit_titles(root: Path, n: int, suffix: str) -> None:
    for i in range(1, n + 1):
        path = root / "environments" / f"{envgen.environment_name(i)}.yml"
        path.write_text(envgen.environment_yaml(i, title_suffix=suffix), "utf-8")


# Incremental ------------------------------------------------------------------------------


def test_only_environments_whose_inputs_changed_are_redone(project: Path) -> None:
    """Keyed by the bytes of the environment file, its certificate file and the templates."""
    proj = Project(project)
    everything = ["contoso", "fabrikam", "litwareinc", "northwind"]
    assert sorted(generate(proj, today=TODAY).rendered) == everything
    assert generate(proj, today=TODAY).rendered == []

    contoso = project / "environments" / "contoso.yml"
    os.utime(contoso, (1, 1))  # a new modification time alone changes nothing
    assert generate(proj, today=TODAY).rendered == []

    contoso.write_text(
        contoso.read_text("utf-8").replace("Redmond production pool", "Redmond pool"), "utf-8"
    )
    assert generate(proj, today=TODAY).rendered == ["contoso"]
    assert generate(proj, today=TODAY).rendered == []

    certificate = project / "environments" / "certs" / "contoso-oauth.cer"
    data = certificate.read_bytes()
    certificate.write_bytes(data + b"\n" if data.startswith(b"-----") else data)  # PEM: a new byte
    if data.startswith(b"-----"):
        assert generate(proj, today=TODAY).rendered == ["contoso"]

    template = project / "templates" / "integration.md.j2"
    template.write_text(template.read_text("utf-8") + "\n", "utf-8")
    assert sorted(generate(proj, today=TODAY).rendered) == everything


def test_cached_output_equals_a_fresh_render(project: Path) -> None:
    proj = Project(project)
    fresh = generate(proj, today=TODAY, use_cache=False)
    generate(proj, today=TODAY)
    cached = generate(proj, today=TODAY)
    assert cached.rendered == []
    assert cached.files == fresh.files
    assert [d.format() for d in cached.diagnostics] == [d.format() for d in fresh.diagnostics]


def test_a_damaged_cache_entry_is_a_miss(project: Path) -> None:
    proj = Project(project)
    generate(proj, today=TODAY)
    with sqlite3.connect(project / ".cache" / "runbook" / "environments.sqlite3") as db:
        assert (
            db.execute("UPDATE entries SET value = ?", (b"not a pickle",)).rowcount == 14
        )  # 3 x (entry, environment, texts) + contoso's certificate + catalogue
    db.close()
    result = generate(proj, today=TODAY)
    assert sorted(result.rendered) == ["contoso", "fabrikam", "litwareinc", "northwind"]
    assert result.files == generate(proj, today=TODAY, use_cache=False).files


def test_build_writes_only_changed_files(project: Path) -> None:
    proj = Project(project)
    build(proj, today=TODAY)
    report, _ = build(proj, today=TODAY)
    assert report.written == [] and report.removed == []
    contoso = project / "environments" / "contoso.yml"
    contoso.write_text(
        contoso.read_text("utf-8").replace("title: Contoso Ltd.", "title: Contoso Inc."), "utf-8"
    )
    report, _ = build(proj, today=TODAY)
    assert [str(p) for p in report.written] == [
        "contoso/contoso-dns.ps1",  # the title is in the scripts' first line
        "contoso/contoso-exchange.ps1",
        "contoso/contoso-lync.ps1",
        "contoso/index.md",
        "contoso/runbook.md",
        "index.md",
    ]


# Deletion and hand-written files -----------------------------------------------------------


def test_deleted_environment_removes_only_its_generated_files(project: Path) -> None:
    out = project / OUT
    notes = out / "notes.md"
    notes.write_text("# Notes\n\nHand-written, next to the generated catalogue.\n", "utf-8")
    own = out / "fabrikam" / "handover.md"
    own.parent.mkdir(parents=True, exist_ok=True)
    own.write_text("# Handover\n", "utf-8")
    hand = {
        p: (p.read_bytes(), p.stat().st_mtime_ns)
        for p in [notes, own, *sorted((project / "docs").glob("*.md"))]
    }

    build(Project(project), today=TODAY)
    assert (out / "fabrikam" / "runbook.md").is_file()
    fabrikam = sorted(rel for rel in writing.read_manifest(out) if rel.startswith("fabrikam/"))
    assert {"fabrikam/index.md", "fabrikam/runbook.md", "fabrikam/fabrikam-lync.ps1"} <= set(
        fabrikam
    )
    (project / "environments" / "fabrikam.yml").unlink()
    report, _ = build(Project(project), today=TODAY)

    assert sorted(str(p) for p in report.removed) == fabrikam
    assert sorted(p.name for p in (out / "fabrikam").iterdir()) == ["handover.md"]
    manifest = writing.read_manifest(out)
    assert not [rel for rel in manifest if rel.startswith("fabrikam/")]
    assert (out / "contoso" / "runbook.md").is_file()
    for path, (data, mtime) in hand.items():
        assert path.read_bytes() == data and path.stat().st_mtime_ns == mtime, path


def test_a_generated_file_edited_by_hand_is_not_deleted(project: Path) -> None:
    out = project / OUT
    build(Project(project), today=TODAY)
    edited = out / "fabrikam" / "runbook.md"
    edited.write_text("# Kept: edited by hand\n", "utf-8")
    (project / "environments" / "fabrikam.yml").unlink()
    build(Project(project), today=TODAY)
    assert edited.read_text("utf-8") == "# Kept: edited by hand\n"
    assert "fabrikam/runbook.md" not in writing.read_manifest(out)


# Merges -----------------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["merge", "diff3"])
def test_a_merge_of_two_branches_docs_is_mended_by_the_next_build(
    project: Path, tmp_path: Path, style: str
) -> None:
    """Two people each add an environment on a branch and commit the docs they built. The
    catalogue changed on both sides, so git cannot merge the manifest's line for it: the next
    build takes the files every side lists as runbook's and writes what a fresh build writes."""
    _merge_two_branches(project, style)
    manifest = project / OUT / writing.MANIFEST
    assert b"\n=======\n" in manifest.read_bytes()
    assert (b"\n||||||| " in manifest.read_bytes()) == (style == "diff3")

    check = _runbook(project, "--check")
    _out, err = check.communicate(timeout=300)
    assert check.returncode == 1, err.decode()
    assert f"stale: {manifest} (has merge conflicts)" in err.decode()
    assert f"stale: {project / OUT / 'index.md'}" in err.decode()

    assert "had merge conflicts" in _run_ok(_runbook(project))
    _run_ok(_runbook(project, "--check"))
    fresh = tmp_path / "fresh"
    shutil.copytree(project, fresh, ignore=shutil.ignore_patterns(".git", ".cache"))
    shutil.rmtree(fresh / OUT)
    build(Project(fresh), today=TODAY)
    assert snapshot(project / OUT) == snapshot(fresh / OUT)
    assert {"alice/runbook.md", "bob/runbook.md"} <= set(writing.read_manifest(project / OUT))


def _merge_two_branches(project: Path, style: str = "merge") -> None:
    """Branches alice and bob each add an environment (alice, bob) and commit the docs built
    on them; bob merges alice, and git stops with the manifest and the catalogue in conflict."""
    envs = project / "environments"
    build(Project(project), today=TODAY)
    (project / ".gitignore").write_text("/.cache/\n/site/\n", "utf-8")  # as runbook init's
    git(project, "init", "-q", "-b", "main")
    git(project, "config", "merge.conflictStyle", style)
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "base")
    for branch in ("alice", "bob"):
        git(project, "checkout", "-q", "-b", branch, "main")
        text = (envs / "contoso.yml").read_text("utf-8")
        (envs / f"{branch}.yml").write_text(text.replace("title: ", f"title: {branch} ", 1))
        build(Project(project), today=TODAY)
        git(project, "add", ".")
        git(project, "commit", "-q", "-m", branch)
    assert git(project, "merge", "alice", check=False).returncode != 0
    unmerged = git(project, "diff", "--name-only", "--diff-filter=U").stdout.split()
    assert unmerged == ["docs/environments/.runbook-manifest.json", "docs/environments/index.md"]


def test_a_merge_resolved_with_one_sides_manifest_is_stale_until_a_build(project: Path) -> None:
    """Resolving the conflict by keeping one side's manifest (``git checkout --ours``) leaves
    the other side's files unlisted, and a later edit of such an environment would be refused
    as someone else's file. A check says the manifest is stale; a build lists them again."""
    _merge_two_branches(project)
    git(project, "checkout", "--ours", "--", "docs/environments/.runbook-manifest.json")
    assert "alice/runbook.md" not in writing.read_manifest(project / OUT)
    check, _ = build(Project(project), check=True, today=TODAY)
    assert check.stale.rels == [writing.MANIFEST, "index.md"]
    build(Project(project), today=TODAY)
    assert "alice/runbook.md" in writing.read_manifest(project / OUT)
    assert build(Project(project), check=True, today=TODAY)[0].stale == []
    _edit_titles_of(project, "alice")
    report, _ = build(Project(project), today=TODAY)
    assert "alice/runbook.md" in report.written.rels


def test_a_merged_manifest_keeps_the_digest_on_disk_for_files_not_rendered(
    tmp_path: Path,
) -> None:
    """Every side's digest of a file is accepted (ours, theirs, the base's); a file the build
    keeps without rendering it (``runbook build NAME``) is recorded with the digest it holds, so
    that deleting its environment later still removes it."""
    out = tmp_path / "out"
    (out / "r\u00e9seau").mkdir(parents=True)
    (out / "a.md").write_bytes(b"ours\n")
    (out / "r\u00e9seau" / "b.md").write_bytes(b"theirs\n")
    ours, theirs, base = (writing.digest(b) for b in (b"ours\n", b"theirs\n", b"base\n"))
    x, y = writing.digest(b"x"), writing.digest(b"y")
    lines = [
        "{",
        ' "generator": "runbook",',
        ' "files": {',
        "<<<<<<< HEAD",
        f'  "a.md": "{ours}",',
        f'  "index.md": "{x}"',
        "||||||| merged common ancestors",
        f'  "a.md": "{base}",',
        f'  "index.md": "{base}"',
        "=======",
        f'  "a.md": "{theirs}",',
        f'  "index.md": "{y}",',
        f'  "r\\u00e9seau/b.md": "{theirs}"',  # as json.dumps writes a path that is not ASCII
        ">>>>>>> theirs",
        " }",
        "}",
    ]
    (out / writing.MANIFEST).write_text("\n".join(lines) + "\n", "utf-8")
    read = writing._read_manifest(out)
    assert read.problem == writing.CONFLICTS
    assert read.files == {"a.md": ours, "index.md": x, "r\u00e9seau/b.md": theirs}
    assert read.pending == {"a.md": base, "index.md": base}
    writer = writing.Writer(out, tmp_path / "staging")
    assert writer.report.manifest_problem == writing.CONFLICTS
    report = writer.commit(frozenset({"a.md", "r\u00e9seau/b.md"}))
    assert report.removed == []  # index.md is not on disk
    files = json.loads((out / writing.MANIFEST).read_bytes())["files"]
    assert files == {"a.md": ours, "r\u00e9seau/b.md": theirs}


def test_a_damaged_manifest_is_named_when_a_file_cannot_be_told_ours(project: Path) -> None:
    """A manifest that cannot be read leaves runbook unable to tell its files from someone
    else's: a file whose bytes change is refused, naming the manifest and the line, and nothing
    is written. Files that already hold their bytes are taken, and the manifest written again."""
    out = project / OUT
    build(Project(project), today=TODAY)
    manifest = out / writing.MANIFEST
    manifest.write_text('{\n "generator": "runbook",\n "files": {\n', "utf-8")
    build(Project(project), today=TODAY)  # every file holds its bytes: mended
    assert writing.read_manifest(out) and json.loads(manifest.read_bytes())

    manifest.write_text('{\n "generator": "runbook",\n "files": {\n', "utf-8")
    _edit_titles_of(project, "contoso")
    before = snapshot(out)
    with pytest.raises(OutputError) as caught:
        build(Project(project), today=TODAY)
    message = str(caught.value)
    assert f"{out / 'contoso' / 'index.md'}: exists, and the manifest {manifest}" in message
    assert "cannot be read: line 4: Expecting property name" in message
    assert f"`git checkout -- {manifest}`" in message
    assert snapshot(out) == before


def _edit_titles_of(project: Path, name: str) -> None:
    path = project / "environments" / f"{name}.yml"
    path.write_text(path.read_text("utf-8").replace("title: ", "title: Edited ", 1), "utf-8")


# Atomicity --------------------------------------------------------------------------------


N_KILL = 200


def test_sigkill_half_way_leaves_old_or_new_files_and_the_next_build_repairs(
    tmp_path: Path,
) -> None:
    """Kill a build in the middle of replacing files: each file is wholly old or wholly new;
    no stray temporary file survives the next build, which makes the docs exactly new."""
    project = _synthetic(tmp_path / "project", N_KILL)
    proj = Project(project)
    build(proj)
    old = snapshot(project / OUT)
    _edit_titles(project, N_KILL, " (renamed)")
    new = {str(rel): text.encode() for rel, text in generate(proj, use_cache=False).files.items()}
    changed = sorted(rel for rel in new if old.get(rel) != new[rel])
    assert len(changed) > 2 * N_KILL

    first = project / OUT / changed[0]  # files are replaced in name order
    process = _runbook(project)
    deadline = time.monotonic() + 120
    while first.read_bytes() == old[changed[0]]:
        assert process.poll() is None, "the build finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.0005)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL

    now = snapshot(project / OUT)
    generated = {rel: data for rel, data in now.items() if not Path(rel).name.startswith(".")}
    assert set(generated) == set(new)
    mixed = {"old": 0, "new": 0}
    for rel, data in generated.items():
        assert data in (old.get(rel), new[rel]), f"{rel} is neither the old nor the new file"
        mixed["new" if data == new[rel] and data != old.get(rel) else "old"] += 1
    assert mixed["new"] >= 1
    manifest = json.loads((project / OUT / writing.MANIFEST).read_text("utf-8"))
    assert "pending" in manifest  # killed between the intent and the final manifest

    check, _ = build(proj, check=True)
    # The files still old, and the manifest (its pending part goes).
    assert len(check.stale) == len(changed) - mixed["new"] + 1
    assert writing.MANIFEST in check.stale.rels

    build(proj)
    repaired = snapshot(project / OUT)
    assert {rel: data for rel, data in repaired.items() if rel != writing.MANIFEST} == new
    assert "pending" not in json.loads(repaired[writing.MANIFEST])
    assert not [p for p in (project / OUT).rglob("*.tmp")]
    assert not (project / ".cache" / "runbook" / "staging").exists()


def test_a_killed_builds_leftovers_are_removed_and_nothing_else(project: Path) -> None:
    """A killed build may leave its staging folder and a temporary manifest: the next build
    removes them, and leaves alone a temporary-looking file it did not make."""
    out = project / OUT
    build(Project(project), today=TODAY)
    staged = project / ".cache" / "runbook" / "staging" / "0"
    staged.parent.mkdir(parents=True)
    staged.write_text("half", "utf-8")
    stray = out / f".{writing.MANIFEST}.a1b2c3d4.tmp"
    stray.write_text("half", "utf-8")
    foreign = out / "contoso" / ".notes.md.a1b2c3d4.tmp"  # not ours
    foreign.write_text("someone else's", "utf-8")
    build(Project(project), today=TODAY)
    assert not stray.exists()
    assert not staged.parent.exists()
    assert foreign.read_text("utf-8") == "someone else's"


def test_two_builds_at_once_do_not_corrupt(tmp_path: Path) -> None:
    project = _synthetic(tmp_path / "project", 120)
    proj = Project(project)
    build(proj)
    before = snapshot(project / OUT)
    _edit_titles(project, 120, " v2")
    expected = {
        str(rel): text.encode() for rel, text in generate(proj, use_cache=False).files.items()
    }
    changes = sum(1 for rel, data in expected.items() if before.get(rel) != data)

    first, second = _runbook(project, seed="1"), _runbook(project, seed="2")
    reports = [_run_ok(first), _run_ok(second)]
    after = snapshot(project / OUT)
    assert {rel: data for rel, data in after.items() if rel != writing.MANIFEST} == expected
    # The lock serialises them: one wrote every change, the other found nothing to do.
    written = sorted(int(r.strip().splitlines()[-1].split(" written")[0]) for r in reports)
    assert written == [0, changes]
    assert not [p for p in (project / OUT).rglob("*.tmp")]


# Determinism ------------------------------------------------------------------------------


def _site_pages(site: Path) -> dict[str, bytes]:
    return snapshot(site, "*.html") | snapshot(site, "*.json") | snapshot(site, "*.xml")


@pytest.mark.slow
def test_byte_identical_across_folders_hash_seeds_and_the_cache(
    project: Path, tmp_path: Path
) -> None:
    """Two builds in different folders (and working directories) with different
    PYTHONHASHSEED, then a third from the warm cache: the generated Markdown and the site's
    pages, search index and sitemap are byte-identical."""
    other = tmp_path / "a" / "much" / "deeper" / "copy"
    shutil.copytree(project, other)
    builds = []
    for root, seed, cwd in ((project, "1", project), (other, "4242", tmp_path)):
        env = {**ENV, "PYTHONHASHSEED": seed}
        rb = _runbook(root, seed=seed, cwd=cwd)
        site = subprocess.Popen(
            [sys.executable, "-m", "mkdocs", "build", "-q", "-f", str(root / "mkdocs.yml")],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        builds.append((rb, site))
    for rb, site in builds:
        _run_ok(rb)
        _run_ok(site)
    assert snapshot(project / OUT) == snapshot(other / OUT)
    first = _site_pages(project / "site")
    assert len([p for p in first if p.endswith(".html")]) >= 9
    assert first == _site_pages(other / "site")
    differing = sorted(
        rel
        for rel, data in snapshot(project / "site").items()
        if snapshot(other / "site").get(rel) != data
    )
    assert differing == [], differing

    # Again in the first folder, from the warm page cache: the same bytes.
    _run_ok(
        subprocess.Popen(
            [sys.executable, "-m", "mkdocs", "build", "-q"],
            cwd=project,
            env={**ENV, "PYTHONHASHSEED": "7"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    )
    assert _site_pages(project / "site") == first


def test_manifest_digests_match_the_files(project: Path) -> None:
    build(Project(project), today=TODAY)
    out = project / OUT
    manifest = writing.read_manifest(out)
    assert sorted(manifest) == sorted(
        str(rel) for rel in generate(Project(project), today=TODAY).files
    )
    assert len(manifest) >= 3 * 6 + 1
    for rel, digest in manifest.items():
        assert hashlib.sha256((out / rel).read_bytes()).hexdigest() == digest


def test_a_cache_file_that_is_not_a_database_is_started_again(project: Path) -> None:
    proj = Project(project)
    generate(proj, today=TODAY)
    database = project / ".cache" / "runbook" / "environments.sqlite3"
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    database.write_bytes(b"garbage, not SQLite" * 100)
    result = generate(proj, today=TODAY)
    assert sorted(result.rendered) == ["contoso", "fabrikam", "litwareinc", "northwind"]
    assert generate(proj, today=TODAY).rendered == []


INDEX = Path(".cache") / "runbook" / "output.sqlite3"


def test_a_warm_build_reads_the_manifest_only_when_its_bytes_changed(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index mirrors the manifest: a build after a build does not parse the manifest (at
    N = 10,000 that held 70,000 paths and digests), and one after the manifest changed outside
    a build (a pull, a checkout) does, and goes by what it says."""
    proj = Project(project)
    build(proj)
    parse = writing._parse_manifest
    parsed: list[bool] = []

    def counted(raw: bytes | None) -> writing._Manifest:
        parsed.append(True)
        return parse(raw)

    monkeypatch.setattr(writing, "_parse_manifest", counted)
    assert build(proj)[0].written == [] and parsed == []
    # The docs as an older commit had them: one environment's runbook and the manifest.
    out = project / OUT
    old = snapshot(out)
    (project / "environments" / "contoso.yml").write_text(
        (project / "environments" / "contoso.yml")
        .read_text("utf-8")
        .replace("title: ", "title: New ", 1),
        "utf-8",
    )
    assert "contoso/runbook.md" in build(proj)[0].written.rels and parsed == []
    for rel in ("contoso/runbook.md", writing.MANIFEST):
        (out / rel).write_bytes(old[rel])
    check, _ = build(proj, check=True)
    assert len(parsed) == 1 and "contoso/runbook.md" in check.stale.rels
    assert [str(p) for p in build(proj)[0].written] == [
        str(p) for p in check.stale if str(p) != writing.MANIFEST
    ]
    assert len(parsed) == 1  # the check's reading was kept
    _assert_fresh(project)


@pytest.mark.parametrize("damage", ["garbage", "older", "deleted"])
def test_an_index_that_is_damaged_older_or_gone_is_made_again(project: Path, damage: str) -> None:
    """The index is a cache: not a database, one left by a build killed before its last
    transaction (it mirrors an older manifest), or none at all: the build reads the manifest
    again, rewrites nothing that holds its bytes, and the docs are a fresh build's."""
    proj = Project(project)
    build(proj)
    index = project / INDEX
    saved = index.read_bytes()  # complete: the build closed it (SQLite then ends its WAL)
    _edit_titles_of(project, "fabrikam")
    assert build(proj)[0].written
    if damage == "older":  # the index of the build before (the WAL was checkpointed into it)
        for suffix in ("-wal", "-shm"):
            Path(f"{index}{suffix}").unlink(missing_ok=True)
        index.write_bytes(saved)
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{index}{suffix}").unlink(missing_ok=True)
        if damage == "garbage":
            index.write_bytes(b"not SQLite at all " * 100)
    assert build(proj, check=True)[0].stale == []
    report, _ = build(proj)
    assert report.written == [] and report.removed == []
    _assert_fresh(project)


def test_parallel_cold_build_equals_a_serial_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many cache misses are loaded and rendered in worker processes: same files, same order."""
    from generator import project as project_module

    monkeypatch.setattr(project_module, "PARALLEL_MIN", 10)
    root = _synthetic(tmp_path / "project", 40)
    report, _ = build(Project(root), jobs=2)
    serial = {
        str(rel): text.encode()
        for rel, text in generate(Project(root), use_cache=False).files.items()
    }
    assert sorted(str(p) for p in report.written) == sorted(serial)
    parallel = snapshot(root / OUT)
    assert serial == {rel: data for rel, data in parallel.items() if rel != writing.MANIFEST}


def test_entries_found_stale_late_are_rendered_among_the_workers_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cache entries are read in batches as the build goes: an entry that cannot be read is
    only found stale then and is rendered in the build's own process, between the misses the
    workers render. Every file still equals a fresh render."""
    root, here = _built_with_workers(tmp_path, monkeypatch)
    _edit_titles(root, 12, " (edited)")  # 12 misses: workers
    damaged = [envgen.environment_name(i) for i in range(13, 41, 3)]
    with sqlite3.connect(root / ".cache" / "runbook" / "environments.sqlite3") as db:
        for key, value in db.execute("SELECT key, value FROM entries").fetchall():
            _key, entry = pickle.loads(value)
            if isinstance(entry, dict) and entry.get("name") in damaged:
                db.execute("UPDATE entries SET value = ? WHERE key = ?", (b"damaged", key))
    db.close()
    report, _ = build(Project(root), jobs=2)
    assert sorted(here) == damaged
    _assert_fresh(root)
    assert {str(p).split("/")[0] for p in report.written} == {
        "index.md",  # the catalogue shows the titles
        *(envgen.environment_name(i) for i in range(1, 13)),
    }


def test_a_changed_certificate_makes_its_environments_misses_for_the_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each entry's certificate file (path and digest) is kept beside it, so a changed
    certificate is found before the misses go to the workers: the environments that read it
    are rendered there, not one by one in the build's own process."""
    from generator import project as project_module

    root, here = _built_with_workers(tmp_path, monkeypatch)
    certificate = root / "environments" / "certs" / "contoso-oauth.cer"
    data = certificate.read_bytes()
    assert data.startswith(b"-----")  # PEM: one more line end keeps it valid
    certificate.write_bytes(data + b"\n")
    run_rendered: list[str] = []  # loaded and rendered in this run (here or in the workers)
    made_item = project_module._Run._made_item
    monkeypatch.setattr(
        project_module._Run,
        "_made_item",
        lambda run, made, *args: run_rendered.append(made.name) or made_item(run, made, *args),
    )
    build(Project(root), jobs=2)
    readers = sorted(
        envgen.environment_name(i)
        for i in range(1, 41)
        if "contoso-oauth.cer" in envgen.environment_yaml(i)
    )
    assert len(readers) >= 4 and here == [] and run_rendered == readers
    _assert_fresh(root)


def test_environments_are_scanned_a_batch_at_a_time_no_further_than_the_lookahead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run holds the environment files it scanned ahead of itself only up to LOOKAHEAD
    (plus one batch), whatever their number. Misses too few within that reach are loaded and
    rendered in the run's own process; once PARALLEL_MIN of them are within reach, they and
    every later miss go to the workers. Either way, the docs equal a fresh render."""
    from generator import project as project_module

    root, here = _built_with_workers(tmp_path, monkeypatch)  # workers from 4, batches of 7
    monkeypatch.setattr(project_module, "LOOKAHEAD", 10)
    most: list[int] = []
    more = project_module._Scan.more
    monkeypatch.setattr(
        project_module._Scan,
        "more",
        lambda scan: more(scan) or most.append(len(scan.ahead)) or False,
    )
    made: list[str] = []  # loaded and rendered in the run, here or in the workers
    made_item = project_module._Run._made_item
    monkeypatch.setattr(
        project_module._Run,
        "_made_item",
        lambda run, one, *args: made.append(one.name) or made_item(run, one, *args),
    )
    names = [envgen.environment_name(i) for i in range(1, 41)]
    for i in (1, 20, 39):  # far apart: one at a time within reach
        path = root / "environments" / f"{names[i - 1]}.yml"
        path.write_text(envgen.environment_yaml(i, title_suffix=" (sparse)"), "utf-8")
    build(Project(root), jobs=2)
    assert here == made == [names[0], names[19], names[38]]
    assert most and max(most) <= 10 + 7
    _assert_fresh(root)

    here.clear(), made.clear(), most.clear()
    for i in range(15, 31):  # together: the workers
        path = root / "environments" / f"{names[i - 1]}.yml"
        path.write_text(envgen.environment_yaml(i, title_suffix=" (dense)"), "utf-8")
    build(Project(root), jobs=2)
    assert here == [] and made == names[14:30]
    assert max(most) <= 10 + 7
    _assert_fresh(root)


def test_the_plugin_renders_in_workers_what_runbook_build_left_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After `runbook build`, the cache holds each environment's entry but not the loaded
    environment and texts the mkdocs plugin needs: the plugin's run counts those as misses
    from the start and renders them in worker processes (it rendered them one by one in its
    own process), with the same files and environments as a run without the cache."""
    monkeypatch.setenv("RUNBOOK_JOBS", "2")
    root, here = _built_with_workers(tmp_path, monkeypatch)
    result = generate(Project(root))
    assert here == [] and len(result.rendered) == 40
    fresh = generate(Project(root), use_cache=False)
    assert result.files == fresh.files
    assert [env.name for env in result.envs] == [env.name for env in fresh.envs]
    assert [env.spec for env in result.envs] == [env.spec for env in fresh.envs]
    again = generate(Project(root))
    assert again.rendered == [] and again.files == fresh.files


def _built_with_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, list[str]]:
    """A built project of 40 environments whose builds use workers from 4 misses and read
    cache entries 7 at a time; and the list of environments its later builds load and render
    in their own process (``_Run._make_here``)."""
    from generator import project as project_module

    monkeypatch.setattr(project_module, "PARALLEL_MIN", 4)
    monkeypatch.setattr(project_module._Run, "BATCH", 7)
    root = _synthetic(tmp_path / "project", 40)
    build(Project(root), jobs=2)
    here: list[str] = []
    make_here = project_module._Run._make_here
    monkeypatch.setattr(
        project_module._Run,
        "_make_here",
        lambda run, path, sha: here.append(path.stem) or make_here(run, path, sha),
    )
    return root, here


def _assert_fresh(root: Path) -> None:
    """Every generated file on disk equals a fresh render (no cache), and nothing else is."""
    fresh = {
        str(rel): text.encode()
        for rel, text in generate(Project(root), use_cache=False).files.items()
    }
    on_disk = snapshot(root / OUT)
    assert fresh == {rel: data for rel, data in on_disk.items() if rel != writing.MANIFEST}


def test_a_cache_folder_that_cannot_be_made_fails_a_build_cleanly_and_a_check_runs(
    project: Path,
) -> None:
    """``.cache`` is a file (or a folder nobody may write): a check still runs, with its index
    in memory and no render cache, and sees what is stale; a build stops before writing, with
    a message naming the lock file and no traceback, and the docs stay as they were."""
    (project / ".cache").write_text("not a folder\n", "utf-8")
    checked = _run_ok(_runbook(project, "--check"))
    assert "generated docs are up to date" in checked
    contoso = project / "environments" / "contoso.yml"
    contoso.write_text(
        contoso.read_text("utf-8").replace("Redmond production pool", "Redmond pool"), "utf-8"
    )
    before = snapshot(project / "docs")
    check = _runbook(project, "--check")
    _out, err = check.communicate(timeout=300)
    assert check.returncode == 1 and f"stale: {project / OUT / 'contoso'}" in err.decode()
    failed = _runbook(project)
    _out, err = failed.communicate(timeout=300)
    assert failed.returncode == 1, err.decode()
    lock = project / ".cache" / "runbook" / "build.lock"
    assert f"error: {lock}: cannot be made (Not a directory)" in err.decode()
    assert "Traceback" not in err.decode()
    assert snapshot(project / "docs") == before


@pytest.mark.skipif(sys.platform != "linux", reason="syncfs is Linux's")
def test_the_c_librarys_syncfs_is_found_and_syncs(tmp_path: Path) -> None:
    """A build that changes more than FSYNC_EACH files syncs its file system once, with the C
    library's syncfs (else os.sync, which waits for every disk): it is found in the
    interpreter's own symbols, and works."""
    syncfs = writing._syncfs()
    assert syncfs is not None
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        assert syncfs(fd) == 0
    finally:
        os.close(fd)
    writing._sync_file_system(tmp_path)


def test_a_cache_on_another_file_system_is_copied_from(
    tmp_path: Path, project: Path, request: pytest.FixtureRequest
) -> None:
    """With ``.cache`` on another file system than ``docs/`` (a tmpfs here), a staged file
    cannot be renamed into place (EXDEV): it is copied beside its target and renamed there,
    for the files of a cold build and of an edit alike."""
    other = Path("/dev/shm")
    assert other.is_dir() and other.stat().st_dev != tmp_path.stat().st_dev, (
        "this test needs /dev/shm on a file system of its own"
    )
    cache_folder = Path(tempfile.mkdtemp(prefix="runbook-cache-", dir=other))
    request.addfinalizer(lambda: shutil.rmtree(cache_folder, ignore_errors=True))
    (project / ".cache").symlink_to(cache_folder, target_is_directory=True)
    shutil.rmtree(project / OUT)  # the committed docs: every file is written
    report, _ = build(Project(project), today=TODAY)
    assert report.unchanged == 0 and len(report.written) > 20
    _assert_fresh(project)
    contoso = project / "environments" / "contoso.yml"
    contoso.write_text(
        contoso.read_text("utf-8").replace("Redmond production pool", "Redmond pool"), "utf-8"
    )
    report, _ = build(Project(project), today=TODAY)
    assert {str(p).split("/")[0] for p in report.written} >= {"contoso"}
    _assert_fresh(project)
    assert not list((project / OUT).rglob("*.tmp"))


def test_a_moved_project_or_one_named_another_way_keeps_its_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache does not depend on where the project lies or how it is named: after a build
    of ``/full/path``, a build of ``.`` in a moved copy renders nothing (it rendered every
    environment again, one by one, before), and still finds a changed certificate there."""
    from generator import project as project_module

    root = _synthetic(tmp_path / "project", 8)
    build(Project(root), today=TODAY)
    generate(Project(root), today=TODAY)  # the mkdocs plugin's records too
    moved = tmp_path / "elsewhere" / "moved"
    moved.parent.mkdir()
    root.rename(moved)
    rendered: list[str] = []
    render = project_module._load_and_render
    monkeypatch.setattr(
        project_module,
        "_load_and_render",
        lambda path, *args: rendered.append(path.stem) or render(path, *args),
    )
    monkeypatch.chdir(moved)
    report, _ = build(Project(Path(".")), today=TODAY)
    assert rendered == [] and report.written == [] and report.unchanged > 8
    # The plugin's loaded environments name their files where the project is now.
    result = generate(Project(moved), today=TODAY)
    assert result.rendered == [] and len(result.envs) == 8
    for env in result.envs:
        assert env.path == moved / "environments" / f"{env.name}.yml"
        assert env.certificate_path is None or env.certificate_path.is_relative_to(moved)
    assert any(env.certificate_path is not None for env in result.envs)
    certificate = moved / "environments" / "certs" / "contoso-oauth.cer"
    certificate.write_bytes(certificate.read_bytes() + b"\n")  # still valid PEM
    build(Project(Path(".")), today=TODAY)
    users = [
        envgen.environment_name(i)
        for i in range(1, 9)
        if "contoso-oauth.cer" in envgen.environment_yaml(i)
    ]
    assert users and sorted(rendered) == users


def test_generated_files_changed_by_hand_are_found_and_rendered_again(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A warm build trusts a file's recorded size, times and inode, so an edit by hand that
    keeps the size, and a deleted file, must still be found: --check lists them, and a build
    (every environment from the cache) renders those environments again."""
    monkeypatch.setattr(writing, "SETTLED_NS", 0)  # record the states of files just written
    proj = Project(project)
    build(proj, today=TODAY)
    time.sleep(0.05)  # past the file system's timestamp tick
    build(proj, today=TODAY)  # reads every file back and records its state
    out = project / OUT
    expected = snapshot(out)
    edited = out / "contoso" / "runbook.md"
    data = edited.read_bytes()
    edited.write_bytes(data.replace(b"Exchange", b"Exchangf", 1))
    assert len(edited.read_bytes()) == len(data) and edited.read_bytes() != data
    (out / "fabrikam" / "fabrikam-dns.ps1").unlink()

    check, _ = build(proj, check=True, today=TODAY)
    assert [str(p) for p in check.stale] == ["contoso/runbook.md", "fabrikam/fabrikam-dns.ps1"]
    report, _ = build(proj, today=TODAY)
    assert sorted(str(p) for p in report.written) == [
        "contoso/runbook.md",
        "fabrikam/fabrikam-dns.ps1",
    ]
    assert snapshot(out) == expected
    again, _ = build(proj, check=True, today=TODAY)
    assert again.stale == []


@pytest.mark.parametrize(
    ("files", "pending"),
    [
        ({"a/b.md": "0" * 64, "index.md": "1" * 64}, {}),
        ({"a": "1"}, {"a": "2"}),
        ({}, {}),
        ({'é"\\': "1"}, {}),
        ({f"e{i}/{n}.md": f"{i}{n}" for i in range(5) for n in range(3)}, {"e1/2.md": "x"}),
    ],
)
def test_the_manifest_is_written_as_json_dumps_indent_1_would(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    files: dict[str, str],
    pending: dict[str, str],
) -> None:
    """The manifest is formatted by hand (for speed): byte for byte what json.dumps makes,
    here with blocks of 4 lines (4,096 in a build), so entries span several blocks; and the
    SHA-256 of what it wrote (the index records it)."""
    monkeypatch.setattr(writing, "_BLOCK", 4)
    written = writing._write_manifest(tmp_path, sorted(files.items()), sorted(pending.items()))
    assert written == writing.digest((tmp_path / writing.MANIFEST).read_bytes())
    document: dict[str, object] = {"generator": "runbook", "files": dict(sorted(files.items()))}
    if pending:
        document["pending"] = dict(sorted(pending.items()))
    assert (tmp_path / writing.MANIFEST).read_text("utf-8") == json.dumps(document, indent=1) + "\n"


def test_runbook_build_keeps_what_the_mkdocs_plugin_cached(project: Path) -> None:
    """`runbook build` and `mkdocs build` share the cache: a build between two site builds
    does not prune the plugin's records, so the second site build renders nothing again."""
    proj = Project(project)
    assert generate(proj, today=TODAY).rendered  # the plugin's first build: everything
    build(proj, today=TODAY)
    assert generate(proj, today=TODAY).rendered == []


@pytest.mark.parametrize(
    ("times_ns", "age_ns", "settled"),
    [
        (1_700_000_000_123_456_789, 60_000_000, True),  # nanosecond times: 50 ms will do
        (1_700_000_000_123_456_789, 10_000_000, False),
        (1_700_000_000_123_000_000, 60_000_000, True),  # milliseconds
        (1_700_000_001_000_000_000, 1_000_000_000, False),  # whole seconds: 2.25 s at least
        (1_700_000_001_000_000_000, 2_300_000_000, True),
        (1_700_000_002_000_000_000, 2_300_000_000, False),  # even seconds (FAT): 4.5 s
        (1_700_000_002_000_000_000, 4_600_000_000, True),
    ],
)
def test_a_file_state_is_recorded_only_two_timestamp_ticks_after_its_last_change(
    monkeypatch: pytest.MonkeyPatch, times_ns: int, age_ns: int, settled: bool
) -> None:
    """An edit within the same timestamp tick as the recorded state would pass unseen, so a
    state counts only once the file has been left alone for two of its file system's ticks."""
    monkeypatch.setattr(writing.time, "time_ns", lambda: times_ns + age_ns)
    st = SimpleNamespace(st_mtime_ns=times_ns - 5, st_ctime_ns=times_ns)
    assert writing._settled(st) is settled  # type: ignore[arg-type]


def test_pruning_keeps_the_records_of_a_used_entry_and_drops_the_rest(tmp_path: Path) -> None:
    """A record keyed KEY:part lives and dies with the entry KEY."""
    store = cache.Cache(tmp_path, "t")
    for key in ("a", "a:texts", "b", "b:texts", "ab:texts"):
        store.put(key, key)
    store.close()
    store = cache.Cache(tmp_path, "t")
    assert store.get("a") == "a"
    assert store.prune() == 3
    store.close()
    store = cache.Cache(tmp_path, "t")
    assert store.get_many(["a", "a:texts", "b", "b:texts", "ab:texts"]) == {
        "a": "a",
        "a:texts": "a:texts",
    }


def test_a_used_key_that_cannot_be_recorded_stops_the_pruning(tmp_path: Path) -> None:
    """The keys a build used are recorded in a temporary table of the cache's database (not
    held in memory); if recording one fails, prune removes nothing rather than entries that
    were used."""
    store = cache.Cache(tmp_path, "t")
    for key in ("a", "b"):
        store.put(key, key)
    store.close()
    store = cache.Cache(tmp_path, "t")
    assert store._db is not None
    store._db.execute(  # recording a key fails, as on a full disk
        "CREATE TEMP TRIGGER full BEFORE INSERT ON used BEGIN SELECT RAISE(ABORT, 'full'); END"
    )
    assert store.get_many(["a"] * 500) == {"a": "a"}  # 500 uses: recorded at once
    assert store.prune() == 0
    store.close()
    store = cache.Cache(tmp_path, "t")
    assert store.get_many(["a", "b"]) == {"a": "a", "b": "b"}
    assert store.prune() == 0  # both used
    store.close()


def test_paths_past_the_spill_limit_are_read_back_from_their_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A report's paths past Paths.SPILL go to a temporary file (a cold build of 10,000
    environments writes 70,000 files): read back in order, by index and by slice; and a cold
    build reports every file it wrote."""
    monkeypatch.setattr(writing.Paths, "SPILL", 3)
    rels = ["a/1.md", "a/2.md", "r\u00e9seau/b.md", "b/3.md", "c/4.md"]
    paths = writing.Paths(rels)
    assert len(paths) == 5 and paths.rels == rels and list(paths.strings()) == rels
    assert paths == [PurePosixPath(rel) for rel in rels]
    assert paths[2] == PurePosixPath("r\u00e9seau/b.md") and paths[-1] == PurePosixPath("c/4.md")
    assert paths[1:4].rels == rels[1:4] and paths[::-2].rels == rels[::-2]
    with pytest.raises(IndexError):
        paths[5]
    paths.append("d/5.md")
    assert paths.rels == [*rels, "d/5.md"]
    assert writing.Paths(rels[:3]).rels == rels[:3]  # at the limit: held

    root = _synthetic(tmp_path / "project", 3)
    report, _ = build(Project(root))
    on_disk = sorted(rel for rel in snapshot(root / OUT) if rel != writing.MANIFEST)
    assert len(on_disk) > 3 and sorted(report.written.rels) == on_disk


def test_environment_files_come_in_the_order_of_their_names(tmp_path: Path) -> None:
    """Environments come in name order (the file name without its suffix), which is not the
    order of the file names ("-" sorts before "."), so that the catalogue's rows need no
    sorting and two files of one environment come together, with a file between them by
    file name (contoso.yb.yml) or not."""
    from generator import sources

    folder = tmp_path / "environments"
    folder.mkdir()
    for name in ("contoso.yml", "a-b.yml", "contoso.yb.yml", "b.yaml", "contoso.yaml", "a.yml"):
        (folder / name).write_text("title: x\n", "utf-8")
    (folder / "notes.txt").write_text("not an environment", "utf-8")
    (folder / "folder.yml").mkdir()
    names = ["a.yml", "a-b.yml", "b.yaml", "contoso.yaml", "contoso.yml", "contoso.yb.yml"]
    assert sources.file_names(tmp_path) == names
    assert sources.discover(tmp_path) == [folder / name for name in names]
    from generator import project as project_module

    diagnostics: list[Diagnostic] = []
    scan = project_module._Scan(
        project_module._Run(Project(tmp_path), TODAY, use_cache=False), diagnostics
    )
    scanned = []
    while scan.more():
        scanned += [found[0] for found in scan.ahead]
        scan.ahead.clear()
    assert scanned == names
    assert sorted((Path(d.path).name, d.message.split(" is ")[0]) for d in diagnostics) == [
        ("contoso.yaml", "contoso.yml"),
        ("contoso.yml", "contoso.yaml"),
    ]


def test_catalogue_rows_out_of_name_order_are_refused(tmp_path: Path) -> None:
    """The catalogue's rows are read back in the order they came (8 bytes each held): a row
    out of name order is a bug, not a silently misordered catalogue."""
    from generator import project as project_module

    with project_module._RowFile("base", tmp_path) as rows:
        rows.add("a", "k1", pickle.dumps("A"))
        rows.add("b", "k2", pickle.dumps("B"))
        rows.add("b", "k3", pickle.dumps("B2"))
        assert list(rows.in_name_order()) == ["A", "B", "B2"]
        assert list(rows.in_name_order()[1:]) == ["B", "B2"]
        with pytest.raises(ValueError, match="out of name order"):
            rows.add("a-b", "k4", pickle.dumps("AB"))


def test_a_pending_manifest_lists_what_chainmap_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pending manifest, written before any file is replaced, names every file with its
    digest before the write (old digest first, then a pending one, then the new one: what
    ChainMap gives) and, as pending, each changed file's new digest. Here after a killed build
    (a pending manifest) and a deleted environment."""
    out = tmp_path / "out"
    on_disk = {"a/1.md": b"k1", "a/2.md": b"p2", "gone/1.md": b"k3", "half/1.md": b"p4"}
    for rel, data in on_disk.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(data)
    d = writing.digest
    known = {"a/1.md": d(b"k1"), "a/2.md": d(b"k2"), "gone/1.md": d(b"k3")}
    pending = {"a/2.md": d(b"p2"), "half/1.md": d(b"p4")}
    writing._write_manifest(out, sorted(known.items()), sorted(pending.items()))
    new = {"a/1.md": b"f1", "a/2.md": b"f2", "new/1.md": b"f5", "half/1.md": b"f4"}
    final = {rel: d(data) for rel, data in new.items()}

    class Killed(Exception):
        pass

    def kill(_name: str) -> None:
        raise Killed

    monkeypatch.setattr(writing, "_fsync", kill)  # right after the pending manifest
    writer = writing.Writer(out, tmp_path / "staging", tmp_path / "index.sqlite3")
    for folder in ("a", "half", "new"):
        digests = {rel: final[rel] for rel in final if rel.startswith(folder + "/")}
        for rel in writer.add_environment(folder, digests):
            writer.stage(rel, new[rel])
    with pytest.raises(Killed):
        writer.commit()
    writer.close()
    document = json.loads((out / writing.MANIFEST).read_text("utf-8"))
    assert document["files"] == dict(collections.ChainMap(known, pending, final))
    assert document["pending"] == final
    assert {rel: (out / rel).read_bytes() for rel in on_disk} == on_disk  # nothing replaced


def test_installed_versions_are_those_importlib_metadata_gives() -> None:
    """The cache's fingerprints read library versions from dist-info folder names (cheaper
    than importlib.metadata); for every installed distribution they must agree."""
    names = {dist.metadata["Name"] for dist in importlib.metadata.distributions()}
    assert all(cache.installed_version(dist) for dist in cache._DISTRIBUTIONS)
    for name in sorted(names):
        assert cache.installed_version(name) == importlib.metadata.version(name), name
    assert cache.installed_version("no-such-distribution-here") is None
    # ...and from the folder names, not from importlib.metadata (which a bug in reading
    # the names had made the answer every time, in silence)
    from_names = cache._dist_info_versions()
    for dist in cache._DISTRIBUTIONS:
        assert from_names[cache._normalized(dist)] == importlib.metadata.version(dist), dist


def test_a_build_with_nothing_to_do_imports_no_loader_and_no_metadata_reader(
    project: Path,
) -> None:
    """What a new process pays before a build that changes nothing: not pydantic, Jinja or
    YAML (nothing is loaded or rendered), nor importlib.metadata (library versions come
    from folder names)."""
    script = (
        "import sys\n"
        "from generator.cli import main\n"
        "try:\n"
        "    main(['build', '--project', sys.argv[1]])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "heavy = ('pydantic', 'jinja2', 'yaml', 'importlib.metadata')\n"
        "print(sorted(name for name in heavy if name in sys.modules))\n"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", script, str(project)],
            env=ENV,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        for _ in range(2)  # the first renders (today's date is in the cache key)
    ]
    assert runs[0].stdout.splitlines()[-1] != "[]"  # the check sees imports when there are
    assert runs[1].stdout.splitlines()[-1] == "[]", runs[1].stderr


def test_the_catalogue_lists_environments_in_name_order_whatever_the_file_order(
    project: Path,
) -> None:
    """contoso-2.yml comes before contoso.yml in a folder listing ("-" sorts before "."), but
    the catalogue lists environments by name: contoso, then contoso-2."""
    envs = project / "environments"
    shutil.copy(envs / "contoso.yml", envs / "contoso-2.yml")
    build(Project(project), today=TODAY)
    catalogue = (project / OUT / "index.md").read_text("utf-8")
    links = [line.split("](")[0] for line in catalogue.splitlines() if line.startswith("| [")]
    assert links == ["| [contoso", "| [contoso-2", "| [fabrikam", "| [litwareinc", "| [northwind"]


def test_a_full_disk_for_the_catalogue_rows_is_an_error_and_leaves_the_docs(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The catalogue's rows wait in a temporary file: when it cannot be written, the build
    stops with an OutputError (a message, exit status 1) and docs/ is as it was."""
    from generator import project as project_module
    from generator.errors import OutputError

    build(Project(project), today=TODAY)
    before = snapshot(project / OUT)
    (project / "environments" / "contoso.yml").write_text(
        (project / "environments" / "contoso.yml")
        .read_text("utf-8")
        .replace("Redmond production pool", "Redmond pool"),
        "utf-8",
    )

    class Full:
        def write(self, _data: bytes) -> int:
            raise OSError(28, "No space left on device")

        def close(self) -> None:
            pass

    monkeypatch.setattr(project_module.tempfile, "TemporaryFile", lambda **_kw: Full())
    with pytest.raises(OutputError, match="No space left on device"):
        build(Project(project), today=TODAY)
    assert snapshot(project / OUT) == before


def test_a_staged_file_that_cannot_be_written_is_an_error_and_leaves_the_docs(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A changed file is staged before anything under docs/ moves: when staging fails (here a
    folder that is not there; a full disk alike), the build stops with an OutputError."""
    from generator.errors import OutputError

    build(Project(project), today=TODAY)
    before = snapshot(project / OUT)
    template = project / "templates" / "integration.md.j2"
    template.write_text(template.read_text("utf-8") + "\n", "utf-8")
    monkeypatch.setattr(
        writing, "staged_name", lambda staging, rel: os.path.join(staging, "gone", "x")
    )
    with pytest.raises(OutputError, match=r"cannot write .*No such file or directory"):
        build(Project(project), today=TODAY)
    assert snapshot(project / OUT) == before


def test_a_build_adds_the_catalogue_by_its_cached_digest_and_renders_it_when_needed(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`runbook build` keeps the catalogue's digest, not its text: a build with nothing new does
    not render it, and one whose catalogue file was deleted renders it again, byte for byte."""
    from generator import rendering

    proj = Project(project)
    build(proj)
    catalogue = project / OUT / "index.md"
    made = catalogue.read_bytes()
    blocks = rendering.catalogue_blocks
    rendered: list[bool] = []

    def counted(*args: object) -> object:
        rendered.append(True)
        return blocks(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(rendering, "catalogue_blocks", counted)
    assert build(proj)[0].written == [] and rendered == []
    catalogue.unlink()
    assert build(proj)[0].written.rels == ["index.md"] and rendered == [True]
    assert catalogue.read_bytes() == made


def test_an_index_that_cannot_be_written_is_an_error_and_leaves_the_docs(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database error of the index (a full disk, say) is a message naming the index, and
    the docs stay as they were."""
    proj = Project(project)
    build(proj)
    before = snapshot(project / OUT)
    _edit_titles_of(project, "contoso")

    def full(*_args: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(writing.Writer, "_flush", full)
    with pytest.raises(OutputError, match=r"output\.sqlite3: database or disk is full"):
        build(proj)
    assert snapshot(project / OUT) == before


@pytest.mark.parametrize("ahead", [1, 2, 3, 4, 4096])
def test_the_index_rows_read_ahead_are_each_folders_whole_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ahead: int
) -> None:
    """The writer reads the index's rows ahead, a few at a time (4,096 in a build; here as few
    as one, so that a folder's rows are cut off by the limit): each folder still gets all its
    rows, in any order of the folders (a-b sorts before a/ as a path, after a as a name), so
    unchanged files are unchanged and a file an environment no longer has is removed."""
    monkeypatch.setattr(writing, "_BUFFER", ahead)
    out = tmp_path / "out"
    files = {
        f"{folder}/{n}.md": f"{folder} {n}".encode()
        for folder in ("a", "a-b", "b")
        for n in range(3)
    }
    for rel, data in files.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(data)
    manifest = sorted((rel, writing.digest(data)) for rel, data in files.items())
    writing._write_manifest(out, manifest, [])
    writer = writing.Writer(out, tmp_path / "staging", tmp_path / "index.sqlite3")
    for folder in ("a", "a-b", "b"):  # name order
        digests = {rel: d for rel, d in manifest if rel.startswith(folder + "/")}
        if folder == "a-b":
            del digests["a-b/1.md"]  # no longer made
        assert writer.add_environment(folder, digests) == []
    report = writer.commit()
    writer.close()
    assert report.unchanged == 8 and report.removed.rels == ["a-b/1.md"]
    assert not (out / "a-b" / "1.md").exists()
    assert set(writing.read_manifest(out)) == set(files) - {"a-b/1.md"}
