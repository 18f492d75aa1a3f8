"""What a change does, and what differs between two versions of an environment.

:func:`plan` lays an environment's change out as numbered steps whose commands come from
the macros of ``templates/commands.j2`` (the same macros the runbook uses, so the printed
change request and the runbook cannot disagree). :func:`compare` is a semantic comparison of
two loaded environments: settings, commands and DNS records added, removed or changed. It
never diffs Markdown text. :func:`previous_from_git` and :func:`previous_from_file` load
the older version to compare with.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import jinja2
import yaml

from generator import loading, names
from generator.errors import Diagnostic, InputError, RunbookError
from generator.loading import LoadedEnvironment
from generator.rendering import PageContext, context

Shell = Literal["lync", "exchange", "dns"]
Phase = Literal["precheck", "change", "verify", "backout"]
PHASES: tuple[Phase, ...] = ("precheck", "change", "verify", "backout")
PHASE_NAMES = {"precheck": "pre-check", "change": "change", "verify": "verify", "backout": "back out"}

# Settings that only describe the change (they reach no command, record or script).
DOCUMENT_ONLY = ("title", "description", "change")


@dataclass(frozen=True)
class StepSpec:
    """One step of the procedure: its title, shell, and the macro names of each phase.

    ``title`` may use ``{lync}`` (Lync / Skype for Business) and ``{host}`` (autodiscover
    host). A macro listed in ``needs`` is only used when that setting is present.
    """

    number: str
    title: str
    shell: Shell
    precheck: tuple[str, ...] = ()
    change: tuple[str, ...] = ()
    verify: tuple[str, ...] = ()
    backout: tuple[str, ...] = ()
    needs: str | None = None


# The runbook's order (FACTS.md section 3; templates/runbook.md.j2). Back-out runs in reverse.
STEPS: tuple[StepSpec, ...] = (
    StepSpec("2", "{lync} OAuthTokenIssuer certificate", "lync",
             ("lync_cert_precheck",), ("lync_cert_assign",), ("lync_cert_verify",), ("lync_cert_backout",)),
    StepSpec("3", "Exchange Server Auth certificate (check only)", "exchange", ("exchange_auth_check",)),
    StepSpec("4", "Exchange autodiscover URI", "exchange",
             ("autodiscover_precheck",), ("autodiscover_set",), ("autodiscover_verify",), ("autodiscover_backout",)),
    StepSpec("5", "DNS record for {host}", "dns",
             ("dns_resolve",), ("dns_add",), ("dns_resolve",), ("dns_backout",)),
    StepSpec("6", "Point {lync} at Exchange autodiscover", "lync",
             ("oauth_precheck",), ("oauth_set",), ("oauth_verify",), ("oauth_backout",)),
    StepSpec("7", "Register {lync} as a partner application in Exchange", "exchange",
             ("exchange_partner_precheck",), ("exchange_partner_configure", "exchange_iisreset"),
             ("exchange_partner_verify",), ("exchange_partner_backout",)),
    StepSpec("8", "Register Exchange as a partner application in {lync}", "lync",
             ("lync_partner_precheck",), ("lync_partner_new",), ("lync_partner_verify",),
             ("lync_partner_disable", "lync_partner_remove")),
    StepSpec("V", "Server-to-server connection to Exchange storage", "lync",
             verify=("storage_test",), needs="lync.test_user"),
)


@dataclass(frozen=True)
class PlannedStep:
    """A step for one environment: where it runs and its commands, phase by phase."""

    number: str
    title: str
    shell: str
    server: str
    commands: dict[str, tuple[str, ...]]  # every phase → command texts (one per macro; may be empty)

    def lines(self, phase: str) -> list[str]:
        """Every command line of a phase."""
        return [line for text in self.commands.get(phase, ()) for line in text.splitlines() if line.strip()]


def plan(jinja_env: jinja2.Environment, env: LoadedEnvironment) -> list[PlannedStep]:
    """The steps of an environment's change, with the runbook's exact commands."""
    ctx = context(env)
    macros = jinja_env.get_template("commands.j2").module
    steps = []
    for spec in STEPS:
        if spec.needs and _setting(env, spec.needs) is None:
            continue
        commands = {
            phase: tuple(_call(macros, name, ctx) for name in getattr(spec, phase))
            for phase in PHASES
        }
        shell, server = _where(spec.shell, ctx)
        title = spec.title.format(lync=ctx.facts.lync_product["short"], host=ctx.facts.autodiscover_host)
        steps.append(PlannedStep(spec.number, title, shell, server, commands))
    return steps


def _call(macros: Any, name: str, ctx: PageContext) -> str:
    macro = getattr(macros, name)
    text = macro(ctx) if "ctx" in macro.arguments else macro()
    return str(text).strip()


def _where(shell: Shell, ctx: PageContext) -> tuple[str, str]:
    env, facts = ctx.env, ctx.facts
    if shell == "lync":
        return facts.lync_product["shell"], env.lync.front_ends[0]
    if shell == "exchange":
        return facts.exchange_product["shell"], env.exchange.servers[0]
    server = env.dns.server or f"a DNS server of the zone {facts.zone}"
    return "Windows PowerShell (DnsServer module)", server


def _setting(env: LoadedEnvironment, dotted: str) -> Any:
    value: Any = env.spec
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


# --- comparison -------------------------------------------------------------------------

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
        counts = Counter(d.kind for d in self.operational)
        nouns = {"setting": "setting", "command": "command line", "dns": "DNS record"}
        parts = [f"{counts[k]} {nouns[k]}{'' if counts[k] == 1 else 's'}" for k in nouns if counts[k]]
        return f"Compared with {self.against}, {', '.join(parts)} changed, as listed below."


def compare(jinja_env: jinja2.Environment, before: LoadedEnvironment, after: LoadedEnvironment, against: str) -> ChangeSet:
    """The semantic differences between two versions of an environment."""
    found = [
        *_compare_settings(_settings(before), _settings(after)),
        *_compare_commands(plan(jinja_env, before), plan(jinja_env, after)),
        *_compare_records(context(before), context(after)),
    ]
    # Stable: settings by key, commands in procedure order, then records.
    return ChangeSet(after.name, against, tuple(sorted(found, key=lambda d: list(KIND_TITLES).index(d.kind))))


def _settings(env: LoadedEnvironment) -> dict[str, Any]:
    data = env.spec.model_dump(mode="json", exclude_none=True)
    # Defaults that are derived count as settings too: they reach commands.
    data.setdefault("exchange", {})["autodiscover_host (effective)"] = env.spec.autodiscover_host
    data.setdefault("dns", {})["zone (effective)"] = env.spec.zone
    if env.certificate is not None:
        cert = env.certificate
        data["lync"]["oauth_certificate (read from file)"] = {
            "subject": cert.subject, "key_size": cert.key_size,
            "thumbprint": cert.thumbprint, "not_after": cert.not_after.date().isoformat(),
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
                yield Difference(kind, f"{key} (order)", "changed", ", ".join(map(str, a_items)), ", ".join(map(str, b_items)))
        elif a is None:
            yield Difference(kind, key, "added", None, str(b))
        elif b is None:
            yield Difference(kind, key, "removed", str(a), None)
        else:
            yield Difference(kind, key, "changed", str(a), str(b))


def _compare_commands(old: list[PlannedStep], new: list[PlannedStep]) -> Iterator[Difference]:
    def lines(steps: list[PlannedStep]) -> dict[tuple[str, str], list[str]]:
        return {(s.number, p): s.lines(p) for s in steps for p in PHASES if s.lines(p)}

    a, b = lines(old), lines(new)
    for key in sorted(a.keys() | b.keys(), key=_step_key):
        number, phase = key
        subject = f"Step {number} {PHASE_NAMES[phase]}" if number != "V" else f"Verification {PHASE_NAMES[phase]}"
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


def _step_key(key: tuple[str, str]) -> tuple[int, int]:
    number, phase = key
    order = [s.number for s in STEPS]
    return (order.index(number), PHASES.index(phase))  # type: ignore[arg-type]


def _compare_records(old: PageContext, new: PageContext) -> Iterator[Difference]:
    def records(ctx: PageContext) -> dict[str, str]:
        r = ctx.facts.record
        return {f"{r.fqdn} {r.type}": f"{r.fqdn}. {r.ttl} IN {r.type} {r.data}{'.' if r.type == 'CNAME' else ''} (zone {r.zone})"}

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


def previous_from_git(current: LoadedEnvironment, project: Path, rev: str, today: dt.date) -> LoadedEnvironment:
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
        cert = _certificate_file(text)
        if cert is not None:
            cert_rel = posixpath.normpath(posixpath.join(posixpath.dirname(rel), cert))
            if not cert_rel.startswith("../") and not posixpath.isabs(cert_rel):
                try:
                    data = _git_show(project, rev, cert_rel)
                except RunbookError:
                    data = None  # the loader reports the missing file, located in the YAML
                if data is not None:
                    (root / cert_rel).parent.mkdir(parents=True, exist_ok=True)
                    (root / cert_rel).write_bytes(data)
        env, diagnostics = loading.load(target, root, today)
        shown = f"{rev}:{rel}"
        errors = [Diagnostic(shown, d.line, d.column, d.message, d.severity) for d in diagnostics if d.severity == "error"]
        if env is None:
            raise InputError(errors)
        return LoadedEnvironment(current.name, current.path, env.spec, env.certificate, None, ())


def _git_show(project: Path, rev: str, rel: str) -> bytes:
    try:
        result = subprocess.run(
            ["git", "-C", str(project), "show", f"{rev}:./{rel}"],
            capture_output=True, check=False, timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RunbookError(f"cannot run git: {exc}") from None
    if result.returncode != 0:
        reason = result.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = reason[-1] if reason else "git show failed"
        raise RunbookError(f"cannot read {rel} at git revision {rev!r}: {detail.removeprefix('fatal: ')}")
    return result.stdout


def _certificate_file(text: bytes) -> str | None:
    try:
        data = yaml.safe_load(text)
        value = data["lync"]["oauth_certificate"]["file"]
    except (yaml.YAMLError, TypeError, KeyError):
        return None
    return value if isinstance(value, str) else None



def load_named(root: Path, name: str, today: dt.date) -> LoadedEnvironment:
    """The environment ``name`` of the project at ``root``; :class:`InputError` if there is no
    such (valid) environment."""
    folder = root / "environments"
    try:
        names.environment_name(name)
    except ValueError as exc:
        raise InputError([Diagnostic(loading.display_path(folder), 1, 1, str(exc))]) from None
    path = next((folder / f"{name}{suffix}" for suffix in loading.SUFFIXES if (folder / f"{name}{suffix}").is_file()), None)
    if path is None:
        known = sorted(p.stem for p in loading.discover(root))
        hint = f" (known: {', '.join(known)})" if known else ""
        raise InputError([Diagnostic(loading.display_path(folder), 1, 1, f"no environment named {name!r}{hint}")])
    env, diagnostics = loading.load(path, root, today)
    if env is None:
        raise InputError(diagnostics)
    return env


def changes_for(
    jinja_env: jinja2.Environment,
    root: Path,
    current: LoadedEnvironment,
    today: dt.date,
    *,
    since: str | None = None,
    previous: Path | None = None,
) -> ChangeSet | None:
    """What changed in ``current`` since git revision ``since``, or compared with the file
    ``previous``; None when neither is given."""
    if since is not None and previous is not None:
        raise RunbookError("give --since or --previous, not both")
    if since is not None:
        before = previous_from_git(current, root, since, today)
        return compare(jinja_env, before, current, f"git revision {since}")
    if previous is not None:
        before = previous_from_file(previous, root, today)
        return compare(jinja_env, before, current, f"the file {loading.display_path(previous)}")
    return None
