"""Issue 6: paths that escape the project, private keys anywhere under environments/, and
where the tool writes."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from certs import make_certificate, pem, pem_private_key, pfx
from click.testing import CliRunner
from conftest import only, snapshot

from generator import sources, writing
from generator.certificates import PRIVATE_KEY_REASON
from generator.cli import main

BIN = Path(sys.executable).parent


@pytest.mark.parametrize("kind", ["pem-key", "pfx", "pfx-with-password", "key-in-a-comment"])
def test_a_private_key_anywhere_under_environments_fails_validate_and_build(
    project: Path, kind: str
) -> None:
    cert, key = make_certificate()
    if kind == "pem-key":
        target, data = (
            project / "environments" / "certs" / "oauth.key",
            b"# exported by mistake\n" + pem_private_key(key),
        )
    elif kind == "pfx":
        target, data = project / "environments" / "certs" / "oauth.pfx", pfx(cert, key, None)
    elif kind == "pfx-with-password":
        target, data = project / "environments" / "certs" / "oauth.pfx", pfx(cert, key, b"P@ssw0rd")
    else:
        path = project / "environments" / "litwareinc.yml"
        target, data = (
            path,
            path.read_bytes() + b"\n# " + pem_private_key(key).replace(b"\n", b"\n# "),
        )
    target.parent.mkdir(exist_ok=True)
    target.write_bytes(data)
    docs = snapshot(project / "docs")

    result = CliRunner().invoke(main, ["validate", "--project", str(project)])
    assert result.exit_code == 1
    expected_line = 2 if kind == "pem-key" else 1
    if kind == "key-in-a-comment":
        expected_line = data[: data.find(b"-----BEGIN")].count(b"\n") + 1
    lines = [line for line in result.stderr.splitlines() if PRIVATE_KEY_REASON in line]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{target}:{expected_line}:1: this file holds a private key;")

    built = CliRunner().invoke(main, ["build", "--project", str(project)])
    assert built.exit_code == 1
    assert snapshot(project / "docs") == docs


def test_an_environment_file_linking_outside_the_project_is_refused(
    project: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere.yml"
    outside.write_bytes((project / "environments" / "litwareinc.yml").read_bytes())
    (project / "environments" / "linked.yml").symlink_to(outside)
    result = CliRunner().invoke(main, ["validate", "--project", str(project)])
    assert result.exit_code == 1
    assert (
        f"linked.yml:1:1: is a symbolic link to {outside}, outside the project folder"
        in result.stderr
    )


def test_a_build_reads_no_environment_file_through_a_link_out_of_the_project(
    project: Path, tmp_path: Path
) -> None:
    """A build's scan (hash, cache key, private-key check) leaves such a link to the loader,
    which refuses it: nothing outside the project is read, and the docs stay as they were."""
    outside = tmp_path / "elsewhere.yml"
    outside.write_bytes((project / "environments" / "litwareinc.yml").read_bytes())
    linked = project / "environments" / "linked.yml"
    linked.symlink_to(outside)
    inside = project / "environments" / "alias.yml"
    inside.symlink_to(project / "environments" / "litwareinc.yml")
    assert sources.read_inside(linked, project) is None
    assert sources.read_inside(inside, project) == outside.read_bytes()
    docs = snapshot(project / "docs")
    with _opened() as opened:
        result = CliRunner().invoke(main, ["build", "--project", str(project)])
    assert str(linked) not in opened and str(outside) not in opened
    assert str(inside) in opened  # the record is of the build's reads
    assert result.exit_code == 1
    assert f"linked.yml:1:1: is a symbolic link to {outside}, outside the project folder" in (
        result.stderr
    )
    assert snapshot(project / "docs") == docs


_OPENED: list[list[str]] = []  # while _opened() is active: the paths opened


def _audit(event: str, args: tuple[object, ...]) -> None:
    if event != "open" or not _OPENED or not isinstance(args[0], str | bytes | os.PathLike):
        return
    flags = args[2] if isinstance(args[2], int) else 0
    if not flags & os.O_NOFOLLOW:  # an open that would follow a link (O_NOFOLLOW: never)
        _OPENED[-1].append(os.fsdecode(args[0]))


@contextlib.contextmanager
def _opened() -> Iterator[list[str]]:
    """The paths this process opens meanwhile, following links (Python's "open" audit
    event)."""
    if not getattr(_audit, "added", False):
        sys.addaudithook(_audit)
        _audit.added = True  # type: ignore[attr-defined]
    _OPENED.append([])
    try:
        yield _OPENED[-1]
    finally:
        _OPENED.pop()


def test_an_oversized_environment_file_is_not_read_whole_and_its_private_key_is_reported(
    project: Path,
) -> None:
    """A build's scan reads an environment file no further than the loader's limit (a file of
    gigabytes is not read into memory); the loader refuses it, and the private-key check,
    which reads further, still finds a key pasted past the limit."""
    _cert, key = make_certificate()
    path = project / "environments" / "litwareinc.yml"
    padding = b"# padding\n" * (sources.MAX_BYTES // 10 + 1)
    block = b"# " + pem_private_key(key).replace(b"\n", b"\n# ")
    path.write_bytes(path.read_bytes() + padding + block)
    assert sources.read_inside(path, project) is None
    docs = snapshot(project / "docs")
    result = CliRunner().invoke(main, ["build", "--project", str(project)])
    assert result.exit_code == 1
    size = path.stat().st_size
    assert f"litwareinc.yml:1:1: the file is {size:,} bytes" in result.stderr
    expected_line = path.read_bytes()[: path.read_bytes().find(b"-----BEGIN")].count(b"\n") + 1
    assert f"{path}:{expected_line}:1: this file holds a private key;" in result.stderr
    assert snapshot(project / "docs") == docs


def test_a_link_inside_the_project_is_fine(project: Path) -> None:
    (project / "environments" / "alias.yml").symlink_to(project / "environments" / "litwareinc.yml")
    result = CliRunner().invoke(main, ["validate", "--project", str(project)])
    assert result.exit_code == 0, result.stderr


def test_a_certificate_link_leading_outside_is_refused(project: Path, tmp_path: Path) -> None:
    cert, _key = make_certificate()
    outside = tmp_path / "secret-dir" / "oauth.cer"
    outside.parent.mkdir()
    outside.write_bytes(pem(cert))
    link = project / "environments" / "certs" / "linked.cer"
    link.parent.mkdir(exist_ok=True)
    link.symlink_to(outside)
    path = project / "environments" / "litwareinc.yml"
    path.write_text(
        path.read_text("utf-8").replace(
            "  test_user:", "  oauth_certificate:\n    file: certs/linked.cer\n  test_user:"
        ),
        "utf-8",
    )
    result = CliRunner().invoke(main, ["validate", "--project", str(project), str(path)])
    assert result.exit_code == 1
    assert (
        "lync.oauth_certificate.file: certs/linked.cer: the path leads outside the project folder"
        in result.stderr
    )


def test_the_tool_writes_only_its_own_folders(project: Path, tmp_path: Path) -> None:
    only(project, "litwareinc")
    (project / "docs" / "environments" / "notes.md").write_text("# Notes\n\nhand-written\n")
    before = snapshot(project)
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    for command in (
        [str(BIN / "runbook"), "build"],
        [str(BIN / "mkdocs"), "build", "--strict", "-q"],
        [str(BIN / "runbook"), "change-request", "litwareinc", "-o", str(tmp_path / "cr.pdf")],
    ):
        done = subprocess.run(
            command, cwd=project, env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, (command, done.stderr)
    after = snapshot(project)
    changed = {rel for rel in set(before) | set(after) if before.get(rel) != after.get(rel)}
    allowed = ("docs/environments/", "site/", ".cache/runbook/")
    assert changed and all(rel.startswith(allowed) for rel in changed), sorted(
        r for r in changed if not r.startswith(allowed)
    )
    assert after["docs/environments/notes.md"] == before["docs/environments/notes.md"]
    assert (tmp_path / "cr.pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("form", ["json", "merge-conflict"])
def test_a_manifest_line_leading_out_of_the_docs_removes_nothing(
    project: Path, tmp_path: Path, form: str
) -> None:
    """The manifest is committed, so anyone can change it. A line naming a file outside
    docs/environments/ with its true digest (mkdocs.yml's is known to all) would have a build
    remove that file: the build refuses, naming the line, and nothing changes."""
    out = project / "docs" / "environments"
    assert CliRunner().invoke(main, ["build", "--project", str(project)]).exit_code == 0
    victim = tmp_path / "victim.txt"
    victim.write_text("not runbook's\n", "utf-8")
    targets = {"../../mkdocs.yml": project / "mkdocs.yml", "../../../victim.txt": victim}
    manifest = out / writing.MANIFEST
    lines = manifest.read_text("utf-8").splitlines()
    extra = [f'  "{rel}": "{writing.digest(path.read_bytes())}",' for rel, path in targets.items()]
    if form == "json":
        lines[3:3] = extra
    else:
        lines[3:3] = ["<<<<<<< HEAD", *extra, "=======", ">>>>>>> theirs"]
    manifest.write_text("\n".join(lines) + "\n", "utf-8")
    before = _outside_the_cache(project)
    for args in (["build"], ["build", "--check"]):
        result = CliRunner().invoke(main, [*args, "--project", str(project)])
        assert result.exit_code == 1, result.stderr
        assert f"{manifest}: lists '../../../victim.txt', which is not a path inside {out}" in (
            result.stderr
        )
    assert _outside_the_cache(project) == before
    assert victim.read_text("utf-8") == "not runbook's\n"


def test_a_symbolic_link_among_the_generated_folders_is_refused(
    project: Path, tmp_path: Path
) -> None:
    """A folder of docs/environments/ replaced by a link (committed, say) would have a build
    write and remove files wherever it leads: the build refuses, naming the link."""
    out = project / "docs" / "environments"
    assert CliRunner().invoke(main, ["build", "--project", str(project)]).exit_code == 0
    elsewhere = tmp_path / "elsewhere"
    (out / "contoso").rename(elsewhere)
    (out / "contoso").symlink_to(elsewhere)
    outside = snapshot(elsewhere)
    path = project / "environments" / "contoso.yml"
    path.write_text(path.read_text("utf-8").replace("title: ", "title: Edited ", 1), "utf-8")
    for edit in ("changed", "deleted"):
        if edit == "deleted":
            path.unlink()
        before = _outside_the_cache(project)
        result = CliRunner().invoke(main, ["build", "--project", str(project)])
        assert result.exit_code == 1, result.stderr
        assert f"{out / 'contoso'}: is a symbolic link; runbook writes and removes" in (
            result.stderr
        )
        assert _outside_the_cache(project) == before
        assert snapshot(elsewhere) == outside


def test_a_file_where_an_environments_folder_goes_stops_the_build_before_any_write(
    project: Path,
) -> None:
    """A hand-made file named like an environment's folder: the build cannot make the folder,
    and says so before it writes anything (it used to stop half-way through moving the files,
    with a traceback). The docs stay as they were and the file is untouched."""
    out = project / "docs" / "environments"
    assert CliRunner().invoke(main, ["build", "--project", str(project)]).exit_code == 0
    shutil.rmtree(out / "fabrikam")
    (out / "fabrikam").write_text("notes of my own\n", "utf-8")
    path = project / "environments" / "contoso.yml"  # before fabrikam: its files come first
    path.write_text(path.read_text("utf-8").replace("title: ", "title: Edited ", 1), "utf-8")
    before = _outside_the_cache(project)
    result = CliRunner().invoke(main, ["build", "--project", str(project)])
    assert result.exit_code == 1, result.stderr
    assert f"{out / 'fabrikam'}: is a file where runbook makes a folder (for fabrikam/" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr
    assert _outside_the_cache(project) == before


def _outside_the_cache(project: Path) -> dict[str, bytes]:
    """The project's files but the cache's (which a refused build may still update)."""
    return {k: v for k, v in snapshot(project).items() if not k.startswith(".cache/")}


def test_a_private_key_in_a_value_is_reported_once_at_its_key(project: Path) -> None:
    _cert, key = make_certificate()
    path = project / "environments" / "litwareinc.yml"
    block = "".join(f"  {line}\n" for line in pem_private_key(key).decode().splitlines())
    path.write_text(
        path.read_text("utf-8").replace(
            "description: Atlanta production, Lync Server 2013 with Exchange Server 2013\n",
            f"description: |\n{block}",
        ),
        "utf-8",
    )
    result = CliRunner().invoke(main, ["validate", "--project", str(project)])
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if PRIVATE_KEY_REASON in line]
    assert len(lines) == 1, result.stderr  # the file scan does not repeat the value's error
    assert lines[0].startswith(f"{path}:6:1: description: holds a private key;"), lines[0]
