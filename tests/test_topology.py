"""The topology diagram: well-formed SVG that names every server and both metadata URLs."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import REPO, TODAY

from generator.facts import derive
from generator.loading import load
from generator.sources import discover
from generator.topology import topology_svg

SVG = "{http://www.w3.org/2000/svg}"


def _svg(path: Path) -> tuple[str, object]:
    env, diagnostics = load(path, REPO, TODAY)
    assert env is not None, diagnostics
    spec = env.spec
    return topology_svg(
        env.name, spec.lync.pool, spec.lync.front_ends, spec.exchange.servers, derive(spec)
    ), env


@pytest.mark.parametrize("path", discover(REPO), ids=lambda p: p.stem)
def test_svg_is_well_formed_and_names_every_server(path: Path, artifacts: Path) -> None:
    svg, env = _svg(path)
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    texts = [t.text or "" for t in root.iter(f"{SVG}text")]
    spec = env.spec  # type: ignore[attr-defined]
    facts = derive(spec)
    for server in (*spec.lync.front_ends, *spec.exchange.servers):
        assert server in texts, server
    assert spec.lync.pool in texts
    assert facts.lync_metadata_url in texts and facts.exchange_metadata_url in texts
    assert any(facts.autodiscover_host in t for t in texts)
    assert any(facts.record.data in t and facts.record.type in t for t in texts)
    (artifacts / f"topology-{path.stem}.svg").write_text(svg, "utf-8")


def test_svg_is_deterministic() -> None:
    path = REPO / "environments" / "contoso.yml"
    assert _svg(path)[0] == _svg(path)[0]


def test_height_grows_with_the_servers() -> None:
    env, _ = load(REPO / "environments" / "litwareinc.yml", REPO, TODAY)
    assert env is not None
    facts = derive(env.spec)
    one = ET.fromstring(
        topology_svg("x", "p.example.com", ("a.example.com",), ("e.example.com",), facts)
    )
    many = ET.fromstring(
        topology_svg(
            "x",
            "p.example.com",
            tuple(f"fe{i}.example.com" for i in range(12)),
            ("e.example.com",),
            facts,
        )
    )
    assert float(many.get("height", 0)) > float(one.get("height", 0))
