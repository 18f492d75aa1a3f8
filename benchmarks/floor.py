"""The floor for ``runbook build``: a bare loop of PyYAML's C loader and the same Jinja
templates, rendering every environment of a project into memory (nothing written, no
positions, no rules, no certificate files read, no cache).

    python benchmarks/floor.py PROJECT
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from generator.loading import LoadedEnvironment
from generator.model import EnvironmentSpec
from generator.rendering import make_jinja_env, render_catalogue, render_environment


def main(project: Path) -> int:
    jinja_env = make_jinja_env(project / "templates")
    envs = []
    total = 0
    for path in sorted((project / "environments").glob("*.yml")):
        data = yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader)
        spec = EnvironmentSpec.model_validate(data)
        env = LoadedEnvironment(path.stem, path, spec, None, None)
        total += sum(len(text) for text in render_environment(jinja_env, env).values())
        envs.append(env)
    total += sum(len(text) for text in render_catalogue(jinja_env, envs).values())
    print(f"{len(envs)} environments, {total} characters rendered")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
