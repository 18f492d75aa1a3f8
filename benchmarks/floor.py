"""The floor for ``runbook build``: PyYAML's C loader and the same Jinja templates, rendering
every environment of a project into memory (no positions, rules, certificates, cache, writing).

    python benchmarks/floor.py PROJECT
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from generator.loading import LoadedEnvironment
from generator.model import EnvironmentSpec
from generator.rendering import (
    catalogue_row,
    make_jinja_env,
    render_catalogue_rows,
    render_environment,
)


def main(project: Path) -> int:
    jinja_env = make_jinja_env(project / "templates")
    envs, total = [], 0
    for path in sorted((project / "environments").glob("*.yml")):
        spec = EnvironmentSpec.model_validate(yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader))
        env = LoadedEnvironment(path.stem, path, spec)
        total += sum(len(text) for text in render_environment(jinja_env, env).values())
        envs.append(env)
    rows = [catalogue_row(env) for env in envs]
    total += sum(len(text) for text in render_catalogue_rows(jinja_env, rows).values())
    print(f"{len(envs)} environments, {total} characters rendered")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
