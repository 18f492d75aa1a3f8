"""What a change does, and what differs between two versions of an environment.

:func:`compare` is a semantic comparison of two loaded environments: settings, commands
(from the plan of ``generator/steps.py``) and DNS records added, removed or changed. It
never diffs Markdown text. :func:`previous_from_git` and :func:`previous_from_file` load
the older version to compare with.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import jinja2
import yaml

from generator import loading, sources
from generator.errors import Diagnostic, InputError, RunbookError
from generator.loading import LoadedEnvironment
from generator.rendering import INTEGRATION, PageContext, context
from generator.rules import CERTIFICATES
from generator.steps import Procedure, Step, plan

# Settings that only describe the change (they reach no command, record or script).
DOCUMENT_ONLY = ("title", "description", "change")


Kind = Literal["setting", "command", "dns", "document"]
Action = Literal["added", "removed", "changed"]
KIND_TITLES = {
    "setting": "Settings",
    "command": "Commands",
    "dns": "DNS records",
    "document": "Change details (no effect on any command or record)",
}


@dataclass(frozen=True)
class Difference:
    """One item that differs: a setting, a command line, a DNS record or a document detail."""

    kind: Kind
    subject: str
    action: Action
    before: str | None = None
    after: str | None = None


@dataclass(frozen=True)
class ChangeSet:
    """Every difference between the previous and the current version of an environment."""

    name: str
    against: str  # what the current version is compared with, in words
    differences: tuple[Difference, ...] = field(default=())

    @property
    def operational(self) -> tuple[Difference, ...]:
        """Differences that change what is run or configured."""
        return tuple(d for d in self.differences if d.kind != "document")

    def of_kind(self, kind: str) -> tuple[Difference, ...]:
        """The differences of one kind, in order."""
        return tuple(d for d in self.differences if d.kind == kind)

    @property
    def summary(self) -> str:
        """One plain sentence: what operationally changed, or that nothing did."""
        if not self.operational:
            detail = " (only the description or change details differ)" if self.differences else ""
            return f"Nothing operational changed compared with {self.against}{detail}: no command, setting or DNS record differs."
        counts: Counter[str] = Counter(d.kind for d in self.operational)
        nouns = {"setting": "setting", "command": "command line", "dns": "DNS record"}
        parts = [
            f"{counts[k]} {nouns[k]}{'' if counts[k] == 1 else 's'}" for k in nouns if counts[k]
        ]
        return f"Compared with {self.against}, {', '.join(parts)} changed, as listed below."


def compare(
    jinja_env: jinja2.Environment,
    before: LoadedEnvironment,
    after: LoadedEnvironment,
    against: str,
    procedure: str = INTEGRATION,
) -> ChangeSet:
    """The semantic differences between two versions of an environment: its settings, the
    commands of ``procedure`` and the DNS records."""
    found = [
        *_compare_settings(_settings(before), _settings(after)),
        *_compare_commands(
            plan(jinja_env, context(before), procedure),
            plan(jinja_env, context(after), procedure),
        ),
        *_compare_records(context(before), context(after)),
    ]
    # Stable: settings by key, commands in procedure order, then records.
    return ChangeSet(
        after.name, against, tuple(sorted(found, key=lambda d: list(KIND_TITLES).index(d.kind)))
    )


def _settings(env: LoadedEnvironment) -> dict[str, Any]:
    data = env.spec.model_dump(mode="json", exclude_none=True)
    # Defaults that are derived count as settings too: they reach commands.
    data.setdefault("exchange", {})["autodiscover_host (effective)"] = env.spec.autodiscover_host
    data.setdefault("dns", {})["zone (effective)"] = env.spec.zone
    for key, cert in sorted(env.all_certificates.items()):
        side, name = key.split(".")
        data[side][f"{name} (read from file)"] = {
            "subject": cert.subject,
            "key_size": cert.key_size,
            "thumbprint": cert.thumbprint,
            "not_after": cert.not_after.date().isoformat(),
        }
    return dict(_flatten(data, ""))


def _flatten(value: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _flatten(item, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, value


def _compare_settings(old: dict[str, Any], new: dict[str, Any]) -> Iterator[Difference]:
    for key in sorted(old.keys() | new.keys()):
        kind: Kind = "document" if key.split(".")[0] in DOCUMENT_ONLY else "setting"
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if isinstance(a, list) or isinstance(b, list):
            # Lists of servers: compare as sets, so one added server is one difference.
            a_items, b_items = list(a or []), list(b or [])
            for item in a_items:
                if item not in b_items:
                    yield Difference(kind, key, "removed", str(item), None)
            for item in b_items:
                if item not in a_items:
                    yield Difference(kind, key, "added", None, str(item))
            if sorted(map(str, a_items)) == sorted(map(str, b_items)):
                yield Difference(
                    kind,
                    f"{key} (order)",
                    "changed",
                    ", ".join(map(str, a_items)),
                    ", ".join(map(str, b_items)),
                )
        elif a is None:
            yield Difference(kind, key, "added", None, str(b))
        elif b is None:
            yield Difference(kind, key, "removed", str(a), None)
        else:
            yield Difference(kind, key, "changed", str(a), str(b))


PHASES = ("change", "back out")
# The lines that change a system: reading, asking and printing are left out of the comparison.
_CHANGING = re.compile(r"^((Set|New|Add|Remove|Import|Enable|Disable)-\w+|iisreset|\.\\)")


def _phase_lines(step: Step) -> dict[str, list[str]]:
    """The changing command lines of a step's change and of its back-out."""
    code = {"change": step.change, "back out": step.backout.code if step.backout else ""}
    return {
        phase: [line.strip() for line in text.splitlines() if _CHANGING.match(line.strip())]
        for phase, text in code.items()
    }


def _compare_commands(old: Procedure, new: Procedure) -> Iterator[Difference]:
    def lines(procedure: Procedure) -> dict[tuple[str, str], list[str]]:
        return {
            (step.number, phase): found
            for step in procedure.steps
            for phase, found in _phase_lines(step).items()
            if found
        }

    order = [step.number for step in new.steps] + [s.number for s in old.steps]
    a, b = lines(old), lines(new)
    for key in sorted(a.keys() | b.keys(), key=lambda k: (order.index(k[0]), PHASES.index(k[1]))):
        number, phase = key
        subject = f"Step {number} {phase}"
        before, after = a.get(key, []), b.get(key, [])
        removed = [x for x in before if x not in after]
        added = [y for y in after if y not in before]
        if len(removed) == len(added):
            for x, y in zip(removed, added, strict=True):
                yield Difference("command", subject, "changed", x, y)
        else:
            for x in removed:
                yield Difference("command", subject, "removed", x, None)
            for y in added:
                yield Difference("command", subject, "added", None, y)


def _compare_records(old: PageContext, new: PageContext) -> Iterator[Difference]:
    def records(ctx: PageContext) -> dict[str, str]:
        r = ctx.facts.record
        return {
            f"{r.fqdn} {r.type}": f"{r.fqdn}. {r.ttl} IN {r.type} {r.data}{'.' if r.type == 'CNAME' else ''} (zone {r.zone})"
        }

    a, b = records(old), records(new)
    for key in sorted(a.keys() | b.keys()):
        if key not in b:
            yield Difference("dns", key, "removed", a[key], None)
        elif key not in a:
            yield Difference("dns", key, "added", None, b[key])
        elif a[key] != b[key]:
            yield Difference("dns", key, "changed", a[key], b[key])


def format_text(changes: ChangeSet) -> str:
    """The change set for a terminal: one line per difference, grouped by kind."""
    out = [f"What changes in {changes.name}, compared with {changes.against}:", ""]
    if not changes.operational:
        out.append(changes.summary)
    for kind, title in KIND_TITLES.items():
        items = changes.of_kind(kind)
        if not items:
            continue
        out += ["", f"{title}:"] if out[-1] != "" else [f"{title}:"]
        for d in items:
            if d.action == "changed":
                out.append(f"  ~ {d.subject}: {d.before} -> {d.after}")
            elif d.action == "added":
                out.append(f"  + {d.subject}: {d.after}")
            else:
                out.append(f"  - {d.subject}: {d.before}")
    return "\n".join(out).rstrip() + "\n"


# --- the previous version ---------------------------------------------------------------


def previous_from_file(path: Path, project: Path, today: dt.date) -> LoadedEnvironment:
    """Load another environment file as the previous version (its own errors are reported)."""
    root = project if path.resolve().is_relative_to(project.resolve()) else path.resolve().parent
    env, diagnostics = loading.load(path, root, today)
    if env is None:
        raise InputError([d for d in diagnostics if d.severity == "error"] or diagnostics)
    return env


def previous_from_git(
    current: LoadedEnvironment, project: Path, rev: str, today: dt.date
) -> LoadedEnvironment:
    """Load ``environments/<name>.yml`` (and its certificate file) as it was at git revision ``rev``."""
    rel = current.path.resolve().relative_to(project.resolve()).as_posix()
    if rev.startswith("-"):
        raise RunbookError(f"{rev!r} is not a git revision")
    text = _git_show(project, rev, rel)
    with tempfile.TemporaryDirectory(prefix="runbook-previous-") as tmp:
        root = Path(tmp)
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text)
        for cert in _certificate_files(text):
            cert_rel = posixpath.normpath(posixpath.join(posixpath.dirname(rel), cert))
            if not cert_rel.startswith("../") and not posixpath.isabs(cert_rel):
                try:
                    data = _git_show(project, rev, cert_rel)
                except RunbookError:
                    continue  # the loader reports the missing file, located in the YAML
                (root / cert_rel).parent.mkdir(parents=True, exist_ok=True)
                (root / cert_rel).write_bytes(data)
        env, diagnostics = loading.load(target, root, today)
        shown = f"{rev}:{rel}"
        errors = [
            Diagnostic(shown, d.line, d.column, d.message, d.severity)
            for d in diagnostics
            if d.severity == "error"
        ]
        if env is None:
            raise InputError(errors)
        # As the current one, without the paths into the temporary checkout.
        return replace(env, name=current.name, path=current.path, certificate_paths={})


def _git_show(project: Path, rev: str, rel: str) -> bytes:
    try:
        result = subprocess.run(
            ["git", "-C", str(project), "show", f"{rev}:./{rel}"],
            capture_output=True,
            check=False,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RunbookError(f"cannot run git: {exc}") from None
    if result.returncode != 0:
        reason = result.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = reason[-1] if reason else "git show failed"
        raise RunbookError(
            f"cannot read {rel} at git revision {rev!r}: {detail.removeprefix('fatal: ')}"
        )
    return result.stdout


def _certificate_files(text: bytes) -> list[str]:
    """The certificate files an environment file names (rules.CERTIFICATES)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return []
    found = []
    for key in CERTIFICATES:
        side, name = key.split(".")
        try:
            value = data[side][name]["file"]
        except (TypeError, KeyError):
            continue
        if isinstance(value, str):
            found.append(value)
    return found


def changes_for(
    jinja_env: jinja2.Environment,
    root: Path,
    current: LoadedEnvironment,
    today: dt.date,
    *,
    since: str | None = None,
    previous: Path | None = None,
    procedure: str = INTEGRATION,
) -> ChangeSet | None:
    """What changed in ``current`` since git revision ``since``, or compared with the file
    ``previous``; None when neither is given."""
    if since is not None and previous is not None:
        raise RunbookError("give --since or --previous, not both")
    if since is not None:
        before = previous_from_git(current, root, since, today)
        return compare(jinja_env, before, current, f"git revision {since}", procedure)
    if previous is not None:
        before = previous_from_file(previous, root, today)
        shown = f"the file {sources.display_path(previous)}"
        return compare(jinja_env, before, current, shown, procedure)
    return None
