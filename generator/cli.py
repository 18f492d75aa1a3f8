"""The ``runbook`` command line: click commands over the library, and the one place where
library errors become exit codes (0 success, 1 invalid input or failed check, 2 usage)."""

from __future__ import annotations

import functools
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import click
from click.shell_completion import CompletionItem

from generator import __version__, names, wizard
from generator.errors import Diagnostic, InputError, RunbookError
from generator.pipeline import Project, build, load_project
from generator.sources import discover, display_path, named
from generator.writing import CONFLICTS, MANIFEST, write_atomic

F = TypeVar("F", bound=Callable[..., Any])
PROGRESS_FROM = 20  # environments: fewer build in well under a second


def _handle_errors(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except InputError as exc:
            _print_diagnostics(exc.diagnostics)
            sys.exit(1)
        except RunbookError as exc:
            click.echo(
                f"{click.style('error:', fg='red', bold=True)} {exc}", err=True, color=_color()
            )
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


def _require_project(root: Path) -> None:
    """Refuse a folder that is not a project (run in environments/, say): a build there made
    .cache/ and then failed on a missing template, and validate checked "0 files" and passed."""
    if (root / "mkdocs.yml").is_file() or (root / "environments").is_dir():
        return
    where = root.resolve()
    found = next(
        (
            up
            for up in where.parents
            if (up / "mkdocs.yml").is_file() and (up / "environments").is_dir()
        ),
        None,
    )
    if found is not None:
        hint = f"{display_path(found)} is one: run runbook there, or pass --project {display_path(found)}"
    else:
        hint = "run runbook in the folder that holds them, or pass --project DIR (`runbook init DIR` makes a project)"
    raise RunbookError(
        f"{where}: not a runbook project (it has neither mkdocs.yml nor an environments/ folder); {hint}"
    )


def _color() -> bool | None:
    """False when NO_COLOR is set (https://no-color.org); else click decides (a terminal)."""
    return False if os.environ.get("NO_COLOR") else None


def _verbosity() -> int:
    ctx = click.get_current_context(silent=True)
    return int(ctx.meta.get("runbook.verbosity", 0)) if ctx else 0


def say(message: str, *, level: int = 0) -> None:
    """A progress or summary line on standard error: hidden by --quiet (level 0) and shown
    only with --verbose (level 1)."""
    if _verbosity() >= level:
        click.echo(message, err=True, color=_color())


def _print_diagnostics(diagnostics: list[Diagnostic]) -> None:
    # Diagnostics are printed even with --quiet: they are the point of the command.
    for d in sorted(diagnostics):
        where = click.style(
            f"{d.path}:{d.line}:{d.column}:", bold=True, fg="red" if d.severity == "error" else None
        )
        kind = click.style(" warning:", fg="yellow", bold=True) if d.severity == "warning" else ""
        click.echo(f"{where}{kind} {d.message}", err=True, color=_color())


def output_options(func: F) -> F:
    """``--quiet`` and ``--verbose`` for a command."""

    def set_verbosity(ctx: click.Context, param: click.Parameter, value: int) -> None:
        if value:
            ctx.meta["runbook.verbosity"] = value

    func = click.option(
        "-q",
        "--quiet",
        "verbosity",
        flag_value=-1,
        expose_value=False,
        callback=set_verbosity,
        help="Print only errors and warnings.",
    )(func)
    return click.option(
        "-v",
        "--verbose",
        "verbosity",
        flag_value=1,
        expose_value=False,
        callback=set_verbosity,
        help="Also print each file written and each cache hit.",
    )(func)


def _complete_names(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Shell completion: the environment names of the project (``--project`` or here)."""
    project = Path(ctx.params.get("project") or ".")
    return [CompletionItem(p.stem) for p in discover(project) if p.stem.startswith(incomplete)]


def comparison_options(func: F) -> F:
    """``--since REV`` and ``--previous FILE``: what the environment is compared with."""
    func = click.option(
        "--previous",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Compare with this environment file.",
    )(func)
    return click.option(
        "--since",
        metavar="REV",
        help="Compare with the environment as it was at this git revision of the project.",
    )(func)


project_option = click.option(
    "--project",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder that holds mkdocs.yml, environments/, templates/ and docs/.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="runbook")
def main() -> None:
    """Runbooks for integrating Lync Server 2013 / Skype for Business Server with Exchange."""


@main.command()
@project_option
@output_options
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    help="json: one object per diagnostic, for CI annotations.",
)
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@_handle_errors
def validate(project: Path, output_format: str, files: tuple[Path, ...]) -> None:
    """Check environment files (default: all of the project); print every error and warning."""
    if not files:  # `validate FILE` runs anywhere
        _require_project(project)
    envs, diagnostics = load_project(Project(project), files)
    errors = [d for d in diagnostics if d.severity == "error"]
    if output_format == "json":
        click.echo(
            json.dumps(
                [
                    {
                        "file": d.path,
                        "line": d.line,
                        "column": d.column,
                        "severity": d.severity,
                        "message": d.message,
                    }
                    for d in sorted(diagnostics)
                ],
                indent=1,
            )
        )
    else:
        _print_diagnostics(diagnostics)
        # Each file once: a valid environment can have an error too (another file's name).
        checked = len(files) or len(
            {*(display_path(e.path) for e in envs), *(d.path for d in errors)}
        )
        say(
            f"{checked} file(s) checked: {len(errors)} error(s), {len(diagnostics) - len(errors)} warning(s)"
        )
    sys.exit(1 if errors else 0)


@main.command("build")
@project_option
@output_options
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 and list the files that are stale or missing.",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes for a large cold build (default: RUNBOOK_JOBS, else one per CPU).",
)
@click.argument("names", nargs=-1, shell_complete=_complete_names)
@_handle_errors
def build_command(project: Path, check: bool, jobs: int | None, names: tuple[str, ...]) -> None:
    """Render environments into docs/environments/ (only files whose content changed)."""
    _require_project(project)
    total = len(discover(project))
    # A progress bar only where someone watches: a terminal, not --quiet, a long build.
    if total >= PROGRESS_FROM and _verbosity() >= 0 and sys.stderr.isatty():
        with click.progressbar(
            length=total, label="Rendering environments", file=sys.stderr, color=_color()
        ) as bar:
            report, diagnostics = build(
                Project(project),
                names,
                check=check,
                jobs=jobs,
                progress=lambda _name: bar.update(1),
            )
    else:
        report, diagnostics = build(Project(project), names, check=check, jobs=jobs)
    _print_diagnostics([d for d in diagnostics if d.severity == "warning"])
    out = Project(project).output
    if check:
        for path in report.stale:
            why = ""
            if str(path) == MANIFEST:  # the list of generated files, not one of them
                why = f" ({report.manifest_problem or 'it does not list the files as they are'})"
            click.echo(f"stale: {out / path}{why}", err=True)
        if report.stale:
            click.echo(
                f"{len(report.stale)} generated file(s) are stale: run `runbook build`", err=True
            )
            sys.exit(1)
        say("generated docs are up to date")
        return
    for path in report.written:
        say(f"wrote {out / path}", level=1)
    for path in report.removed:
        say(f"removed {out / path}", level=1)
    if report.manifest_problem == CONFLICTS:
        say(
            f"{out / MANIFEST} had merge conflicts: every file a side of the merge listed was "
            "taken as runbook's, and the manifest was written again"
        )
    elif report.manifest_problem is not None:
        say(f"{out / MANIFEST} {report.manifest_problem}; it was written again")
    say(
        f"{len(report.written)} written, {len(report.removed)} removed, {report.unchanged} unchanged in {out}"
    )


@main.command("change-request")
@project_option
@output_options
@click.argument("name", required=False, shell_complete=_complete_names)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    required=True,
    help="The PDF to write (with --all: the folder to write them into).",
)
@click.option(
    "--all", "every", is_flag=True, help="Every environment's change requests, into OUTPUT."
)
@click.option(
    "--procedure",
    metavar="SLUG",
    default=None,
    help="The procedure (default: integration; with --all: every one the site has).",
)
@click.option(
    "--paper",
    type=click.Choice(["a4", "letter"]),
    default="a4",
    show_default=True,
    help="Paper size.",
)
@comparison_options
@_handle_errors
def change_request_command(
    project: Path,
    name: str | None,
    output: Path,
    every: bool,
    procedure: str | None,
    paper: str,
    since: str | None,
    previous: Path | None,
) -> None:
    """Write the printable change-request PDF of environment NAME (or of --all)."""
    _require_project(project)
    from generator import changerequests, pdf

    if every == (name is not None):
        raise click.UsageError("give an environment NAME or --all, not both")
    if since is not None and previous is not None:
        raise click.UsageError("give --since or --previous, not both")
    if every:
        if since is not None or previous is not None:
            raise click.UsageError("--since and --previous compare one environment: give NAME")
        _all_change_requests(Project(project), output, procedure, cast(pdf.Paper, paper))
        return
    assert name is not None
    made, diagnostics, changes = changerequests.change_request(
        Project(project),
        name,
        procedure=procedure or pdf.INTEGRATION,
        paper=cast(pdf.Paper, paper),
        since=since,
        previous=previous,
        created=pdf.source_date(),
    )
    _print_diagnostics([*diagnostics, *made.warnings])
    if made.data is None:
        raise RunbookError(f"change request of {name}: {made.error}")
    write_atomic(output, made.data)
    say(f"wrote {output} ({len(made.data):,} bytes){': ' + changes.summary if changes else ''}")


def _all_change_requests(project: Project, folder: Path, procedure: str | None, paper: Any) -> None:
    """``change-request --all``: every environment's, laid out in parallel."""
    import datetime as dt

    from generator import changerequests, pdf
    from generator.pipeline import Run

    today = dt.date.today()
    with Run(project, today=today) as run:
        outcomes = list(run.outcomes())
        diagnostics = run.problems + [d for o in outcomes for d in o.diagnostics]
    if any(d.severity == "error" for d in diagnostics):
        raise InputError(diagnostics)
    results = changerequests.write_all(
        project,
        outcomes,
        folder,
        today=today,
        created=pdf.source_date(),
        procedure=procedure,
        paper=paper,
    )
    _print_diagnostics([*diagnostics, *(w for made in results for w in made.warnings)])
    failed = [made for made in results if made.data is None]
    for made in failed:
        click.echo(
            f"error: change request of {display_path(made.job.path)}: {made.error}", err=True
        )
    say(f"wrote {len(results) - len(failed)} change request(s) into {folder}")
    if failed:
        sys.exit(1)


@main.command("diff")
@project_option
@click.argument("name", shell_complete=_complete_names)
@comparison_options
@_handle_errors
def diff_command(project: Path, name: str, since: str | None, previous: Path | None) -> None:
    """Print what changes in environment NAME: settings, commands and DNS records."""
    _require_project(project)
    import datetime as dt

    from generator import changes, rendering

    if (since is None) == (previous is None):
        raise click.UsageError("give exactly one of --since REV or --previous FILE")
    today = dt.date.today()
    from generator.loading import load_named

    env = load_named(project, name, today)
    found = changes.changes_for(
        rendering.make_jinja_env(project / "templates"),
        project,
        env,
        today,
        since=since,
        previous=previous,
    )
    assert found is not None
    _print_diagnostics(list(env.warnings))
    click.echo(changes.format_text(found), nl=False)


@main.command("due")
@project_option
@click.option(
    "--within",
    type=click.IntRange(min=0),
    default=60,
    show_default=True,
    help="Exit 1 when a certificate expires within this many days.",
)
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text")
@_handle_errors
def due_command(project: Path, within: int, output_format: str) -> None:
    """List every known certificate expiry, soonest first; exit 1 when one is due."""
    import datetime as dt

    from generator import loading
    from generator.sources import stem

    _require_project(project)
    today = dt.date.today()
    _, diagnostics = load_project(Project(project))
    rows: list[dict[str, Any]] = sorted(
        (
            {
                "environment": stem(path.name),
                "certificate": key,
                "not_after": expires.isoformat(),
                "days_left": (expires - today).days,
                "procedure": procedure,
            }
            for path in discover(project)
            for key, expires, procedure in loading.expiries(path, project)
        ),
        key=lambda row: (row["days_left"], row["environment"], row["certificate"]),
    )
    _print_diagnostics(diagnostics)
    if output_format == "json":
        click.echo(json.dumps(rows, indent=1))
    else:
        _print_table(rows, within)
    due = [row for row in rows if row["days_left"] <= within]
    errors = [d for d in diagnostics if d.severity == "error"]
    sys.exit(1 if due or errors else 0)


def _print_table(rows: list[dict[str, Any]], within: int) -> None:
    """``runbook due``'s rows as aligned columns, those due marked."""
    head = ("environment", "certificate", "expires", "days left", "procedure")
    cells = [
        (r["environment"], r["certificate"], r["not_after"], str(r["days_left"]), r["procedure"])
        for r in rows
    ]
    widths = [max(len(row[i]) for row in [head, *cells]) for i in range(len(head))]
    for row in [head, *cells]:
        line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        due = row is not head and int(row[3]) <= within
        click.echo(click.style(line.rstrip(), fg="red" if due else None), color=_color())
    if not cells:
        say("no certificate of any environment has a known expiry date")


@main.command()
def schema() -> None:
    """Print the JSON Schema of the environment file format (version 1)."""
    from generator.model import EnvironmentSpec

    document = EnvironmentSpec.model_json_schema()
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    click.echo(json.dumps(document, indent=2, sort_keys=True))


def _wizard_options(func: F) -> F:
    for question in reversed(wizard.QUESTIONS):
        func = click.option(question.flag, question.key, default=None, help=question.prompt + ".")(
            func
        )
    return func


@main.command("new")
@project_option
@output_options
@click.argument("name")
@_wizard_options
@_handle_errors
def new_command(project: Path, name: str, **given: str | None) -> None:
    """Write environments/NAME.yml from questions (asked at a terminal, or given as flags)."""
    _require_project(project)
    try:
        names.environment_name(name)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="NAME") from None
    target = Project(project).environments / f"{name}.yml"
    existing = named(target.parent, name)  # as .yml or as .yaml
    if existing:
        raise RunbookError(f"{existing[0]}: already exists; edit it, or choose another name")
    interactive = sys.stdin.isatty()

    def ask(question: wizard.Question, default: str | None, error: str | None) -> str:
        if error:
            click.echo(f"  {error}", err=True)
        return str(
            click.prompt(
                question.prompt, default=default, show_default=default is not None, err=True
            )
        )

    try:
        answers = wizard.resolve(given, ask if interactive else None)
    except wizard.MissingAnswer as exc:
        raise click.UsageError(str(exc)) from None
    except ValueError as exc:
        raise RunbookError(str(exc)) from None
    text = wizard.to_yaml(answers)
    with tempfile.TemporaryDirectory() as scratch:
        # Check the exact bytes with the real loader before anything is written.
        trial = Path(scratch) / "environments" / target.name
        trial.parent.mkdir()
        trial.write_text(text, "utf-8")
        _env, diagnostics = load_project(Project(Path(scratch)), [trial])
        if any(d.severity == "error" for d in diagnostics):
            raise InputError(diagnostics)
    write_atomic(target, text.encode("utf-8"))
    say(
        f"wrote {target}; check it with: runbook validate {target}. Every key is on the site's "
        "page 'Environment file format' (docs/environments/format.md after runbook build)"
    )


@main.command("init")
@output_options
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@_handle_errors
def init_command(directory: Path) -> None:
    """Create a new docs project in DIRECTORY: mkdocs.yml, templates, an example, CI, hooks."""
    from generator import scaffold

    files = scaffold.init(directory)
    for path in files:
        say(f"created {path}", level=1)
    say(
        f"created {len(files)} files in {directory}; next: cd {directory} && runbook build && mkdocs serve"
    )


if __name__ == "__main__":  # pragma: no cover
    main()
