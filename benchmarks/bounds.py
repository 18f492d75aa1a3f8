"""Lower bounds for the two targets that a new process per build cannot meet.

Each mode does only what any build of that kind must do, and nothing of runbook's own:

    python benchmarks/bounds.py edit PROJECT        # (e): run it as a new process, time it
    python benchmarks/bounds.py templates PROJECT   # (b): prints seconds, timed inside

``edit``: what every ``runbook build`` after editing one environment must do before it
loads, renders or writes anything: start the interpreter, import Jinja and YAML (the edited
file has to be parsed and rendered), read and hash every environment file (the issue wants
content hashes, not modification times) and ``stat`` every generated file (a file edited by
hand must be noticed and repaired). The benchmark times the whole process, as it times
``runbook build``.

``templates``: what a cold ``mkdocs build`` with the plugin must do beyond the same build of
Markdown already rendered, at the least: compile the project's page templates (a cold build
has no compiled copy). Timed inside a process that has imported what ``mkdocs build`` imports
(mkdocs, Material, Jinja, YAML), so only the compiling counts. Prints the seconds, then the
seconds that compiling and rendering every environment take the floor's way (``floor.py``:
C-loader YAML, the model, the templates), still in that process.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path

# The change-request PDF's templates are left out: the site benchmarks leave out the PDFs.
CHANGE_REQUEST = "change-request."


def edit(project: Path) -> int:
    import jinja2  # noqa: F401
    import yaml  # noqa: F401

    hashed = 0
    for entry in sorted(os.scandir(project / "environments"), key=lambda e: e.name):
        if entry.is_file() and entry.name.endswith((".yml", ".yaml")):
            with open(entry.path, "rb") as stream:
                hashlib.sha256(stream.read()).digest()
            hashed += 1
    stated = 0
    for folder in os.scandir(project / "docs" / "environments"):
        if folder.is_dir():
            for entry in os.scandir(folder.path):
                entry.stat()
                stated += 1
        else:
            folder.stat()
            stated += 1
    print(f"{hashed} environment files hashed, {stated} generated files stated")
    return 0


def templates(project: Path) -> int:
    import jinja2
    import material  # noqa: F401
    import mkdocs.commands.build  # noqa: F401
    import yaml

    start = time.perf_counter()
    jinja_env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(project / "templates")),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Compiling checks that a filter exists, not what it does.
    jinja_env.filters.update(ps=str, md=str)
    for path in sorted((project / "templates").glob("*.j2")):
        if not path.name.startswith(CHANGE_REQUEST):
            jinja_env.get_template(path.name)
    compiled = time.perf_counter() - start

    start = time.perf_counter()
    from generator.loading import LoadedEnvironment
    from generator.model import EnvironmentSpec
    from generator.rendering import make_jinja_env, render_catalogue, render_environment

    rendering_env = make_jinja_env(project / "templates")
    envs = []
    for path in sorted((project / "environments").glob("*.yml")):
        spec = EnvironmentSpec.model_validate(yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader))
        env = LoadedEnvironment(path.stem, path, spec, None, None)
        render_environment(rendering_env, env)
        envs.append(env)
    render_catalogue(rendering_env, envs)
    floor = time.perf_counter() - start
    print(f"{compiled:.4f} {floor:.4f}")
    return 0


if __name__ == "__main__":
    mode, folder = sys.argv[1], Path(sys.argv[2])
    sys.exit({"edit": edit, "templates": templates}[mode](folder))
