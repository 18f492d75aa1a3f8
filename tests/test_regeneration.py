"""What `runbook build` promises: only changed files written, only its own files removed,
hand-written files untouched, atomic under SIGKILL, builds serialised, a moved project's
cache reused, byte-identical output, --check, `build NAME`, the merge recovery."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, TODAY, git, only, snapshot

from generator import pipeline, writing
from generator.errors import InputError, OutputError
from generator.pipeline import Project, Run, build

sys.path.insert(0, str(REPO / "benchmarks"))
import envgen

OUT = Path("docs") / "environments"
ENV = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}


def _runbook(project: Path, *args: str, seed: str = "0") -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "generator", "build", "--project", str(project), *args],
        cwd=project,
        env={**ENV, "PYTHONHASHSEED": seed},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _run_ok(process: subprocess.Popen[bytes]) -> str:
    _out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err.decode()
    return err.decode()


def _fresh(root: Path) -> dict[str, bytes]:
    """Every file a build makes, rendered without the cache."""
    with Run(Project(root), today=TODAY, use_cache=False) as run:
        outcomes = list(run.outcomes(texts=True))
        files = {rel: t.encode() for o in outcomes for rel, t in (o.files or {}).items()}
        files["index.md"] = run.catalogue([(o.key, o.row) for o in outcomes]).encode()
        files["format.md"] = run.reference().encode()
    return files


def _assert_fresh(root: Path) -> None:
    on_disk = snapshot(root / OUT)
    assert {rel: b for rel, b in on_disk.items() if rel != writing.MANIFEST} == _fresh(root)


def _rendered(root: Path, *, texts: bool = True) -> list[str]:
    with Run(Project(root), today=TODAY) as run:
        return [o.name for o in run.outcomes(texts=texts) if o.rendered]


def _edit(project: Path, name: str, old: str = "title: ", new: str = "title: Edited ") -> None:
    path = project / "environments" / f"{name}.yml"
    path.write_text(path.read_text("utf-8").replace(old, new, 1), "utf-8")


def test_only_environments_whose_inputs_changed_are_rendered(project: Path) -> None:
    everything = ["contoso", "fabrikam", "litwareinc", "northwind"]
    assert _rendered(project) == everything
    assert _rendered(project) == []
    os.utime(project / "environments" / "contoso.yml", (1, 1))  # a time alone changes nothing
    assert _rendered(project) == []
    _edit(project, "contoso", "Redmond production pool", "Redmond pool")
    assert _rendered(project) == ["contoso"]
    certificate = project / "environments" / "certs" / "contoso-oauth.cer"
    if certificate.read_bytes().startswith(b"-----"):  # PEM: one more line end keeps it valid
        certificate.write_bytes(certificate.read_bytes() + b"\n")
        assert _rendered(project) == ["contoso"]
    template = project / "templates" / "integration.md.j2"
    template.write_text(template.read_text("utf-8") + "\n", "utf-8")
    assert _rendered(project) == everything


def test_cached_output_equals_a_fresh_render_and_a_damaged_cache_starts_again(
    project: Path,
) -> None:
    build(Project(project), today=TODAY)
    _assert_fresh(project)
    database = project / ".cache" / "runbook" / "cache.sqlite3"
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    database.write_bytes(b"garbage, not SQLite" * 100)
    assert _rendered(project) == ["contoso", "fabrikam", "litwareinc", "northwind"]
    assert _rendered(project) == []


def test_a_build_writes_only_files_whose_bytes_change(project: Path) -> None:
    build(Project(project), today=TODAY)
    times = {
        p: p.stat().st_mtime_ns
        for p in (project / OUT).rglob("*")
        if p.is_file() and p.name != writing.MANIFEST
    }
    report, _ = build(Project(project), today=TODAY)
    assert report.written == [] and report.removed == []
    _edit(project, "contoso", "Redmond production pool", "Redmond pool")
    report, _ = build(Project(project), today=TODAY)
    edited = ["contoso/index.md"]  # the description is on the overview only
    assert sorted(str(p) for p in report.written) == edited
    changed = {p for p, t in times.items() if p.stat().st_mtime_ns != t}
    assert sorted(p.relative_to(project / OUT).as_posix() for p in changed) == edited
    # The title is on every page and script of the environment, and in the catalogue.
    _edit(project, "contoso", "title: Contoso Ltd.", "title: Contoso Renamed")
    report, _ = build(Project(project), today=TODAY)
    showing = [
        p.relative_to(project / OUT).as_posix()
        for p in (project / OUT).rglob("*")
        if p.is_file() and "Contoso Renamed" in p.read_text("utf-8", "replace")
    ]
    assert len(showing) > 10
    assert sorted(str(p) for p in report.written) == sorted(showing)


def test_deleting_an_environment_removes_only_files_the_manifest_lists(project: Path) -> None:
    out = project / OUT
    notes, own = out / "notes.md", out / "fabrikam" / "handover.md"
    own.parent.mkdir(parents=True, exist_ok=True)
    notes.write_text("# Notes\n", "utf-8")
    own.write_text("# Handover\n", "utf-8")
    build(Project(project), today=TODAY)
    listed = sorted(r for r in writing.read_manifest(out).files if r.startswith("fabrikam/"))
    edited = out / "fabrikam" / "runbook.md"
    edited.write_text("# Kept: edited by hand\n", "utf-8")
    listed.remove("fabrikam/runbook.md")
    (project / "environments" / "fabrikam.yml").unlink()
    report, _ = build(Project(project), today=TODAY)
    assert sorted(str(p) for p in report.removed) == listed
    assert sorted(p.name for p in (out / "fabrikam").iterdir()) == ["handover.md", "runbook.md"]
    assert notes.read_text("utf-8") == "# Notes\n" and own.read_text("utf-8") == "# Handover\n"
    assert edited.read_text("utf-8") == "# Kept: edited by hand\n"
    assert not [r for r in writing.read_manifest(out).files if r.startswith("fabrikam/")]


def test_a_file_runbook_did_not_make_is_never_overwritten_unless_identical(project: Path) -> None:
    out = project / OUT
    shutil.rmtree(out)
    (out / "contoso").mkdir(parents=True)
    mine = out / "contoso" / "runbook.md"
    mine.write_text("# My own runbook\n", "utf-8")
    with pytest.raises(OutputError, match="exists but was not generated by runbook"):
        build(Project(project), today=TODAY)
    assert snapshot(out) == {"contoso/runbook.md": b"# My own runbook\n"}
    mine.write_bytes(_fresh(project)["contoso/runbook.md"])  # what runbook makes: taken
    build(Project(project), today=TODAY)
    assert "contoso/runbook.md" in writing.read_manifest(out).files
    _assert_fresh(project)


def test_check_lists_stale_and_missing_files_and_writes_nothing(project: Path) -> None:
    build(Project(project), today=TODAY)
    out = project / OUT
    edited = out / "contoso" / "runbook.md"
    edited.write_bytes(edited.read_bytes().replace(b"Exchange", b"Exchangf", 1))  # same size
    (out / "fabrikam" / "fabrikam-dns.ps1").unlink()
    before = snapshot(project / "docs")
    check = _runbook(project, "--check")
    _out, err = check.communicate(timeout=300)
    assert check.returncode == 1
    assert f"stale: {out / 'contoso' / 'runbook.md'}" in err.decode()
    assert f"stale: {out / 'fabrikam' / 'fabrikam-dns.ps1'}" in err.decode()
    assert "2 generated file(s) are stale" in err.decode()
    assert snapshot(project / "docs") == before
    report, _ = build(Project(project), today=TODAY)
    assert sorted(map(str, report.written)) == ["contoso/runbook.md", "fabrikam/fabrikam-dns.ps1"]
    assert build(Project(project), check=True, today=TODAY)[0].stale == []


def test_build_name_renders_only_those_and_always_the_catalogue(project: Path) -> None:
    build(Project(project), today=TODAY)
    _edit(project, "contoso")
    _edit(project, "fabrikam")
    report, _ = build(Project(project), ["contoso"], today=TODAY)
    assert {str(p).split("/")[0] for p in report.written} == {"contoso", "index.md"}
    assert "Edited" in (project / OUT / "index.md").read_text("utf-8")
    assert "Edited" not in (project / OUT / "fabrikam" / "index.md").read_text("utf-8")
    assert (project / OUT / "litwareinc" / "runbook.md").is_file()
    with pytest.raises(InputError, match="no environment named 'nosuch'"):
        build(Project(project), ["nosuch"], today=TODAY)


def test_invalid_input_is_located_and_nothing_is_written(project: Path) -> None:
    build(Project(project), today=TODAY)
    _edit(project, "contoso")
    _edit(project, "litwareinc", "domain: ", "domain: [")
    before = snapshot(project / "docs")
    with pytest.raises(InputError, match=r"litwareinc\.yml:\d+:\d+: "):
        build(Project(project), today=TODAY)
    assert snapshot(project / "docs") == before


@pytest.mark.parametrize("style", ["merge", "diff3"])
def test_a_merge_of_two_branches_docs_is_mended_by_the_next_build(
    project: Path, tmp_path: Path, style: str
) -> None:
    """Git cannot merge the manifest or the catalogue of two branches that each added an
    environment; the next build takes every file either side lists as runbook's."""
    _merge_two_branches(project, style)
    manifest = project / OUT / writing.MANIFEST
    assert b"\n=======\n" in manifest.read_bytes()
    check = _runbook(project, "--check")
    _out, err = check.communicate(timeout=300)
    assert check.returncode == 1
    assert f"stale: {manifest} (has merge conflicts)" in err.decode()
    assert "had merge conflicts" in _run_ok(_runbook(project))
    _run_ok(_runbook(project, "--check"))
    fresh = tmp_path / "fresh"
    shutil.copytree(project, fresh, ignore=shutil.ignore_patterns(".git", ".cache"))
    shutil.rmtree(fresh / OUT)
    build(Project(fresh), today=TODAY)
    assert snapshot(project / OUT) == snapshot(fresh / OUT)


def _merge_two_branches(project: Path, style: str = "merge") -> None:
    envs = project / "environments"
    build(Project(project), today=TODAY)
    (project / ".gitignore").write_text("/.cache/\n/site/\n", "utf-8")
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


def test_one_sides_manifest_after_a_merge_is_stale_until_a_build(project: Path) -> None:
    _merge_two_branches(project)
    git(project, "checkout", "--ours", "--", "docs/environments/.runbook-manifest.json")
    check, _ = build(Project(project), check=True, today=TODAY)
    assert [str(p) for p in check.stale] == [writing.MANIFEST, "index.md"]
    build(Project(project), today=TODAY)  # alice's files, as runbook makes them: listed again
    assert "alice/runbook.md" in writing.read_manifest(project / OUT).files
    _edit(project, "alice")
    assert "alice/runbook.md" in map(str, build(Project(project), today=TODAY)[0].written)


def test_a_damaged_manifest_is_named_when_a_file_cannot_be_told_ours(project: Path) -> None:
    out = project / OUT
    build(Project(project), today=TODAY)
    manifest = out / writing.MANIFEST
    manifest.write_text('{\n "generator": "runbook",\n "files": {\n', "utf-8")
    build(Project(project), today=TODAY)  # every file holds its bytes: mended
    assert json.loads(manifest.read_bytes())["files"]
    manifest.write_text('{\n "generator": "runbook",\n "files": {\n', "utf-8")
    _edit(project, "contoso")
    before = snapshot(out)
    with pytest.raises(OutputError) as caught:
        build(Project(project), today=TODAY)
    assert f"{out / 'contoso' / 'index.md'}: exists, and the manifest {manifest}" in str(
        caught.value
    )
    assert "cannot be read: line 4: Expecting property name" in str(caught.value)
    assert snapshot(out) == before


def test_the_manifest_keeps_its_format(project: Path) -> None:
    build(Project(project), today=TODAY)
    out = project / OUT
    text = (out / writing.MANIFEST).read_text("utf-8")
    files = json.loads(text)["files"]
    assert text == json.dumps({"generator": "runbook", "files": files}, indent=1) + "\n"
    assert sorted(files) == sorted(_fresh(project))
    for rel, digest in files.items():
        assert writing.digest((out / rel).read_bytes()) == digest


N_KILL = 200


def test_sigkill_half_way_leaves_old_or_new_files_and_the_next_build_repairs(
    tmp_path: Path,
) -> None:
    project = envgen.make_project(tmp_path / "project", N_KILL)
    build(Project(project))
    old = snapshot(project / OUT)
    for i in range(1, N_KILL + 1):
        path = project / "environments" / f"{envgen.environment_name(i)}.yml"
        path.write_text(envgen.environment_yaml(i, title_suffix=" (renamed)"), "utf-8")
    with Run(Project(project), use_cache=False) as run:
        new = {r: t.encode() for o in run.outcomes(texts=True) for r, t in (o.files or {}).items()}
    changed = sorted(rel for rel in new if old.get(rel) != new[rel])
    first = project / OUT / changed[0]  # files are moved in name order
    process = _runbook(project)
    deadline = time.monotonic() + 120
    while first.read_bytes() == old[changed[0]]:
        assert process.poll() is None, "the build finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.0005)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    for rel, data in snapshot(project / OUT).items():
        if rel in new:
            assert data in (old.get(rel), new[rel]), f"{rel} is neither old nor new"
    assert "pending" in json.loads((project / OUT / writing.MANIFEST).read_text("utf-8"))
    build(Project(project))
    repaired = snapshot(project / OUT)
    assert {rel: repaired[rel] for rel in new} == new
    assert "pending" not in json.loads(repaired[writing.MANIFEST])
    assert not list((project / OUT).rglob("*.tmp"))


def test_a_killed_builds_leftovers_are_removed_and_nothing_else(project: Path) -> None:
    out = project / OUT
    build(Project(project), today=TODAY)
    staged = project / ".cache" / "runbook" / "staging" / "0"
    staged.parent.mkdir(parents=True)
    staged.write_text("half", "utf-8")
    stray = out / f".{writing.MANIFEST}.a1b2c3d4.tmp"
    stray.write_text("half", "utf-8")
    foreign = out / "contoso" / ".notes.md.a1b2c3d4.tmp"
    foreign.write_text("someone else's", "utf-8")
    _edit(project, "contoso")
    build(Project(project), today=TODAY)
    assert not stray.exists() and not staged.parent.exists()
    assert foreign.read_text("utf-8") == "someone else's"


def test_two_builds_at_once_wait_for_each_other(tmp_path: Path) -> None:
    project = envgen.make_project(tmp_path / "project", 60)
    build(Project(project))
    for i in range(1, 61):
        path = project / "environments" / f"{envgen.environment_name(i)}.yml"
        path.write_text(envgen.environment_yaml(i, title_suffix=" v2"), "utf-8")
    first, second = _runbook(project, seed="1"), _runbook(project, seed="2")
    reports = [_run_ok(first), _run_ok(second)]
    written = sorted(int(r.strip().splitlines()[-1].split(" written")[0]) for r in reports)
    assert written[0] == 0 and written[1] > 120  # one wrote every change, the other none
    _assert_fresh(project)


def test_a_parallel_cold_build_equals_a_serial_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "PARALLEL_MIN", 10)
    root = envgen.make_project(tmp_path / "project", 30)
    report, _ = build(Project(root), jobs=2)
    assert len(report.written) > 30 * 7
    _assert_fresh(root)


def test_a_moved_project_or_one_named_another_way_reuses_its_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = envgen.make_project(tmp_path / "project", 8)
    build(Project(root), today=TODAY)
    moved = tmp_path / "elsewhere" / "moved"
    moved.parent.mkdir()
    root.rename(moved)
    monkeypatch.chdir(moved)
    assert _rendered(Path("."), texts=False) == []
    report, _ = build(Project(Path(".")), today=TODAY)
    assert report.written == [] and report.unchanged > 8 * 7
    (moved / "environments" / "certs" / "contoso-oauth.cer").write_bytes(
        (moved / "environments" / "certs" / "contoso-oauth.cer").read_bytes() + b"\n"
    )
    users = [
        envgen.environment_name(i)
        for i in range(1, 9)
        if "contoso-oauth.cer" in envgen.environment_yaml(i)
    ]
    assert users and _rendered(moved, texts=False) == users


def test_a_cache_folder_that_cannot_be_made_fails_a_build_cleanly_and_a_check_runs(
    project: Path,
) -> None:
    (project / ".cache").write_text("not a folder\n", "utf-8")
    assert "generated docs are up to date" in _run_ok(_runbook(project, "--check"))
    _edit(project, "contoso")
    before = snapshot(project / "docs")
    failed = _runbook(project)
    _out, err = failed.communicate(timeout=300)
    assert failed.returncode == 1 and "Traceback" not in err.decode()
    lock = project / ".cache" / "runbook" / "build.lock"
    assert f"error: {lock}: cannot be made (Not a directory)" in err.decode()
    assert snapshot(project / "docs") == before


def test_a_cache_on_another_file_system_is_copied_from(
    tmp_path: Path, project: Path, request: pytest.FixtureRequest
) -> None:
    other = Path("/dev/shm")
    if not other.is_dir() or other.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("needs /dev/shm on a file system of its own")
    folder = Path(os.path.join(other, f"runbook-cache-{os.getpid()}"))
    folder.mkdir()
    request.addfinalizer(lambda: shutil.rmtree(folder, ignore_errors=True))
    (project / ".cache").symlink_to(folder, target_is_directory=True)
    shutil.rmtree(project / OUT)
    build(Project(project), today=TODAY)
    _assert_fresh(project)


def test_byte_identical_across_folders_hash_seeds_and_the_cache(
    project: Path, tmp_path: Path
) -> None:
    """Generated Markdown and the site (pages, search index, sitemap, PDFs) are the same bytes
    in another folder with another hash seed, and from the warm caches."""
    only(project, "contoso", "litwareinc")  # certificate files, all three procedures
    other = tmp_path / "a" / "deeper" / "copy"
    shutil.copytree(project, other)
    for root, seed in ((project, "1"), (other, "4242")):
        _run_ok(_runbook(root, seed=seed))
        _run_ok(_mkdocs(root, seed))
    assert snapshot(project / OUT) == snapshot(other / OUT)
    first = snapshot(project / "site")
    assert len([p for p in first if p.endswith(".pdf")]) == 2 * 3  # environments x procedures
    assert first == snapshot(other / "site")
    _run_ok(_mkdocs(project, "7"))  # from the warm page cache and the cached PDFs
    assert snapshot(project / "site") == first


def _mkdocs(root: Path, seed: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "mkdocs", "build", "-q", "-f", str(root / "mkdocs.yml")],
        env={**ENV, "PYTHONHASHSEED": seed, "SOURCE_DATE_EPOCH": "1764201600"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
