"""The procedure's steps (``templates/steps.yml``) planned for one environment: where each
step runs, and the exact commands of each phase from the macros of ``commands.j2``.

The .ps1 scripts and the change request are built from the plan, so they run the same
commands, in the same order, as the runbook page.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import jinja2
import yaml

from generator.errors import TemplateError

if TYPE_CHECKING:
    from generator.rendering import PageContext

Shell = Literal["lync", "exchange", "dns"]
Phase = Literal["precheck", "change", "verify", "backout"]
PHASES: tuple[Phase, ...] = ("precheck", "change", "verify", "backout")
PHASE_NAMES = {
    "precheck": "pre-check",
    "change": "change",
    "verify": "verify",
    "backout": "back out",
}
STEPS_FILE = "steps.yml"
VERIFICATION = "V"  # the number of the final verification step


@dataclass(frozen=True)
class StepSpec:
    """One row of ``steps.yml``: number, title, shell, and the macro names of each phase."""

    number: str
    title: str
    shell: Shell
    precheck: tuple[str, ...] = ()
    change: tuple[str, ...] = ()
    verify: tuple[str, ...] = ()
    backout: tuple[str, ...] = ()
    needs: str | None = None


@dataclass(frozen=True)
class PlannedStep:
    """A step for one environment: where it runs and its commands, phase by phase."""

    number: str
    title: str
    kind: Shell
    shell: str  # the shell's name, e.g. "Exchange Management Shell"
    server: str
    commands: dict[str, tuple[str, ...]]  # every phase → command texts (one per macro)

    @property
    def heading(self) -> str:
        """``Step 4``, or ``Verification`` for the final check."""
        return "Verification" if self.number == VERIFICATION else f"Step {self.number}"

    def lines(self, phase: str) -> list[str]:
        """Every command line of a phase."""
        return [
            line
            for text in self.commands.get(phase, ())
            for line in text.splitlines()
            if line.strip()
        ]


def specs(jinja_env: jinja2.Environment) -> tuple[StepSpec, ...]:
    """The steps of the project's ``templates/steps.yml``."""
    assert jinja_env.loader is not None
    try:
        source, filename, _ = jinja_env.loader.get_source(jinja_env, STEPS_FILE)
    except jinja2.TemplateNotFound:
        raise TemplateError(f"templates/{STEPS_FILE}: not found") from None
    return _parse(source, filename or STEPS_FILE)


@functools.lru_cache(maxsize=8)
def _parse(source: str, filename: str) -> tuple[StepSpec, ...]:
    try:
        rows = yaml.load(source, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        steps = tuple(
            StepSpec(**{k: tuple(v) if isinstance(v, list) else str(v) for k, v in row.items()})  # type: ignore[arg-type]
            for row in rows
        )
    except (yaml.YAMLError, TypeError, AttributeError) as exc:
        raise TemplateError(f"{filename}: not a list of steps ({exc})") from None
    for step in steps:
        if step.shell not in ("lync", "exchange", "dns"):
            raise TemplateError(f"{filename}: step {step.number}: unknown shell {step.shell!r}")
    return steps


def plan(jinja_env: jinja2.Environment, ctx: PageContext) -> list[PlannedStep]:
    """The steps of one environment's change, with the runbook's exact commands."""
    macros = jinja_env.get_template("commands.j2").module
    planned = []
    for spec in specs(jinja_env):
        if spec.needs and _setting(ctx.env, spec.needs) is None:
            continue
        commands: dict[str, tuple[str, ...]] = {
            phase: tuple(_call(macros, name, ctx, spec) for name in getattr(spec, phase))
            for phase in PHASES
        }
        shell, server = _where(spec.shell, ctx)
        title = spec.title.format(
            lync=ctx.facts.lync_product["short"], host=ctx.facts.autodiscover_host
        )
        planned.append(PlannedStep(spec.number, title, spec.shell, shell, server, commands))
    return planned


def _call(macros: Any, name: str, ctx: PageContext, spec: StepSpec) -> str:
    macro = getattr(macros, name, None)
    if macro is None:
        raise TemplateError(
            f"templates/{STEPS_FILE}: step {spec.number}: commands.j2 has no macro {name!r}"
        )
    text = macro(ctx) if "ctx" in macro.arguments else macro()
    return str(text).strip()


def _where(shell: Shell, ctx: PageContext) -> tuple[str, str]:
    env, facts = ctx.env, ctx.facts
    if shell == "lync":
        return facts.lync_product["shell"], env.lync.front_ends[0]
    if shell == "exchange":
        return facts.exchange_product["shell"], env.exchange.servers[0]
    server = env.dns.server or f"a DNS server of the zone {facts.zone}"
    return str(ctx.products["dns"]["shell"]), server


def _setting(spec: Any, dotted: str) -> Any:
    value = spec
    for part in dotted.split("."):
        value = getattr(value, part, None)
    return value
