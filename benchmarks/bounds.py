"""Lower bounds for targets (b) and (e): the least any build of that kind must do.

Each mode does that and nothing more:

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
has no compiled copy), with the project's own Jinja environment (``make_jinja_env``, no
bytecode cache). Timed inside a process that has imported what ``mkdocs build`` imports
(mkdocs, Material, Jinja, YAML) and the generator, so only the compiling counts. Prints those
seconds, then the seconds of the floor's whole work (``floor.py``'s loop: the model's
imports, the compiling, C-loader YAML and rendering every environment), in that process.
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
    import material  # noqa: F401
    import mkdocs.commands.build  # noqa: F401
    import yaml

    start = time.perf_counter()
    from generator.loading import LoadedEnvironment
    from generator.model import EnvironmentSpec
    from generator.rendering import make_jinja_env, render_catalogue, render_environment

    imported = time.perf_counter()
    # The project's own Jinja environment, without a bytecode cache: every template compiles.
    jinja_env = make_jinja_env(project / "templates")
    for path in sorted((project / "templates").glob("*.j2")):
        if not path.name.startswith(CHANGE_REQUEST):
            jinja_env.get_template(path.name)
    compiled = time.perf_counter()

    envs = []
    for path in sorted((project / "environments").glob("*.yml")):
        spec = EnvironmentSpec.model_validate(yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader))
        env = LoadedEnvironment(path.stem, path, spec, None, None)
        render_environment(jinja_env, env)
        envs.append(env)
    render_catalogue(jinja_env, envs)
    # The floor's work: the model's imports, compiling, loading and rendering.
    print(f"{compiled - imported:.4f} {time.perf_counter() - start:.4f}")
    return 0


if __name__ == "__main__":
    mode, folder = sys.argv[1], Path(sys.argv[2])
    sys.exit({"edit": edit, "templates": templates}[mode](folder))
