"""A procedure's step table (``templates/<slug>.yml.j2``) planned for one environment.

The table is rendered with the environment's context and read as YAML: for each step, where
it runs, what it observes, the rules that decide (skip, change, stop, roll), what it changes,
how it is verified and backed out. The page, the scripts and the change request are all
made from the plan, so they state the same rules and run the same commands.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import jinja2
import pydantic
import yaml

from generator.errors import TemplateError

if TYPE_CHECKING:
    from generator.rendering import PageContext

Shell = Literal["lync", "exchange", "dns"]
Action = Literal["skip", "change", "stop", "roll"]
SHELLS: tuple[Shell, ...] = ("lync", "exchange", "dns")


@dataclass(frozen=True)
class Rule:
    """One decision rule: when its PowerShell ``test`` holds, the step does ``then``."""

    when: str
    then: Action
    test: str
    ask: str = ""  # for stop: the go/no-go question
    decides: str = ""  # for stop: who answers it


@dataclass(frozen=True)
class Requirement:
    """What must hold before a step changes anything (checked by its PowerShell ``test``)."""

    text: str
    test: str


@dataclass(frozen=True)
class BackOut:
    """How a step's change is undone, and only when it changed something."""

    when: str
    does: str
    minutes: int = 0
    code: str = ""


@dataclass(frozen=True)
class Step:
    """A step of a procedure for one environment: its shell and server, and each phase."""

    number: str
    title: str
    shell: Shell
    sources: tuple[str, ...] = ()
    observe: str = ""
    rules: tuple[Rule, ...] = ()
    requires: tuple[Requirement, ...] = ()
    change: str = ""
    verify: str = ""
    gate: str = ""
    impact: str = ""
    backout: BackOut | None = None
    shell_name: str = ""  # filled in by plan(): e.g. "Exchange Management Shell"
    server: str = ""  # the server it runs on ("" for a DNS server the file does not name)

    @property
    def skip_rule(self) -> Rule | None:
        """The rule that says the step is already as intended (its verification holds it)."""
        return next((rule for rule in self.rules if rule.then == "skip"), None)

    @property
    def changes(self) -> bool:
        """Whether some rule of the step changes something."""
        return any(rule.then in ("change", "roll") for rule in self.rules)


@dataclass(frozen=True)
class Procedure:
    """A procedure planned for one environment: its page, title and steps in order."""

    slug: str
    page: str
    title: str
    steps: tuple[Step, ...]

    @property
    def shells(self) -> list[Shell]:
        """The shells the procedure runs in, in the order of their first step."""
        return list(dict.fromkeys(step.shell for step in self.steps))

    @property
    def backout_minutes(self) -> int:
        """How long backing out every step that can change something takes, at most."""
        return sum(s.backout.minutes for s in self.steps if s.backout is not None and s.changes)

    def step(self, number: str) -> Step:
        """The step numbered ``number``."""
        return next(step for step in self.steps if step.number == number)

    def of_shell(self, shell: str) -> list[Step]:
        """The steps that run in ``shell``, in order."""
        return [step for step in self.steps if step.shell == shell]


_TABLE = pydantic.TypeAdapter(Procedure)


def plan(jinja_env: jinja2.Environment, ctx: PageContext, slug: str) -> Procedure:
    """The procedure ``slug`` for the environment of ``ctx``."""
    name = f"{slug}.yml.j2"
    try:
        text = jinja_env.get_template(name).render(ctx=ctx)
    except jinja2.TemplateNotFound:
        raise TemplateError(f"templates/{name}: not found") from None
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        procedure = _TABLE.validate_python(data, strict=False)
    except (yaml.YAMLError, pydantic.ValidationError) as exc:
        raise TemplateError(f"templates/{name}: not a step table ({exc})") from None
    for step in procedure.steps:
        if step.changes and step.backout is None:
            raise TemplateError(f"templates/{name}: step {step.number} changes, but has no backout")
    steps = tuple(_placed(step, ctx) for step in procedure.steps)
    return Procedure(procedure.slug, procedure.page, procedure.title, steps)


def _placed(step: Step, ctx: PageContext) -> Step:
    """``step`` with the name of its shell and the server it runs on."""
    env, facts = ctx.env, ctx.facts
    where: dict[str, tuple[str, str]] = {
        "lync": (facts.lync_product["shell"], env.lync.front_ends[0]),
        "exchange": (facts.exchange_product["shell"], env.exchange.servers[0]),
        "dns": (str(ctx.products["dns"]["shell"]), env.dns.server or ""),
    }
    shell_name, server = where[step.shell]
    return dataclasses.replace(step, shell_name=shell_name, server=server)
