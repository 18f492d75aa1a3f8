"""The scripts are safe on a live, partly configured system, checked by parsing every
generated .ps1 of every example (tree-sitter-pwsh): each change sits inside its decision,
each back-out inside "this step changed something", no Exchange cmdlet runs inside a pipeline
still streaming from another one, every file starts with a byte-order mark, and what a step
observes and what its back-out reads go through one state file."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pwsh
import pytest
import tree_sitter
from click.testing import CliRunner
from conftest import REPO, TODAY
from pypdf import PdfReader

from generator import rendering
from generator.cli import main
from generator.loading import load

EXAMPLES = sorted(p.stem for p in (REPO / "environments").glob("*.yml"))
# Commands that change a live system: product cmdlets that set, add or remove, the
# partner-application script and IIS restarts.
CHANGES = re.compile(
    r"^((Set|New|Add|Remove|Import|Enable|Disable)-(Cs|DnsServer|ClientAccess|PartnerApplication"
    r"|AuthConfig|ExchangeCertificate)\w*|iisreset|.*Configure-EnterprisePartnerApplication\.ps1)$"
)
EXCHANGE = re.compile(
    r"^\w+-(ClientAccess(Server|Service)|PartnerApplication|AuthConfig|ExchangeCertificate"
    r"|OAuthConnectivity)$"
)


def _scripts() -> Iterator[tuple[str, str]]:
    jinja_env = rendering.make_jinja_env(REPO / "templates")
    for name in EXAMPLES:
        env, diagnostics = load(REPO / "environments" / f"{name}.yml", REPO, TODAY)
        assert env is not None, diagnostics
        for path, text in rendering.render_environment(jinja_env, env).items():
            if path.suffix == ".ps1":
                yield f"{name}/{path.name}", text


SCRIPTS = dict(_scripts())


def _walk(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    yield node
    for child in node.children:
        yield from _walk(child)


def _text(node: tree_sitter.Node) -> str:
    return (node.text or b"").decode("utf-8")


def _name(command: tree_sitter.Node) -> str:
    return _text(command.children[0])


def _commands(node: tree_sitter.Node) -> list[tree_sitter.Node]:
    return [n for n in _walk(node) if n.type == "command"]


def _acting_cases(text: str) -> list[str]:
    """The cases of the scripts' `switch ($decision)` blocks that change something."""
    clauses = [n for n in _walk(pwsh.parse(text).root_node) if n.type == "switch_clause"]
    cases = [pwsh.unquote_verbatim(_text(c.children[0])) for c in clauses]
    return [case for case in cases if case in ("change", "roll")]


def _guard(node: tree_sitter.Node) -> str | None:
    """What decides that ``node`` runs: the case of the `switch ($decision)` around it, or
    "backout" for the else-branch of `if (-not $saved.Changed)`; None when neither."""
    child, parent = node, node.parent
    while parent is not None:
        if parent.type == "switch_clause":
            switch = parent.parent.parent.parent  # clauses < body < switch_statement
            condition = switch.child_by_field_name("condition") or switch.children[1]
            if _text(condition) == "($decision)":
                return pwsh.unquote_verbatim(_text(parent.children[0]))
        if parent.type == "else_clause" and parent.parent is not None:
            if_statement = parent.parent
            if "(-not $saved.Changed)" in _text(if_statement).split("{")[0]:
                return "backout"
        child, parent = parent, parent.parent
    del child
    return None


@pytest.mark.parametrize("label", sorted(SCRIPTS))
def test_every_change_sits_inside_its_decision(label: str) -> None:
    tree = pwsh.parse(SCRIPTS[label])
    assert not tree.root_node.has_error, pwsh.error_nodes(SCRIPTS[label])
    changes = [c for c in _commands(tree.root_node) if CHANGES.match(_name(c))]
    for command in changes:
        guard = _guard(command)
        assert guard in ("change", "roll", "backout"), (
            f"{label}: {_text(command)!r} runs outside a change decision or a back-out "
            f"(guarded by {guard!r})"
        )
    if _acting_cases(SCRIPTS[label]):
        assert changes, label  # the check finds the changes there are


@pytest.mark.parametrize("label", sorted(SCRIPTS))
def test_no_exchange_cmdlet_runs_inside_a_pipeline_fed_by_one(label: str) -> None:
    """In the Exchange Management Shell (implicit remoting) a remote cmdlet called while
    another one's pipeline still streams fails: "Pipelines cannot be executed concurrently"."""
    tree = pwsh.parse(SCRIPTS[label])
    for chain in (n for n in _walk(tree.root_node) if n.type == "pipeline_chain"):
        commands = [c for c in chain.children if c.type == "command"]
        if not commands or not EXCHANGE.match(_name(commands[0])):
            continue
        for later in commands[1:]:
            inner = [_name(c) for c in _commands(later)[1:] if EXCHANGE.match(_name(c))]
            assert not inner, f"{label}: {inner} inside the pipeline of {_text(chain)!r}"


@pytest.mark.parametrize("label", sorted(SCRIPTS))
def test_exchange_cmdlets_stop_on_error(label: str) -> None:
    """$ErrorActionPreference does not reach the Exchange shell's proxy functions."""
    for command in pwsh.commands(SCRIPTS[label]):
        if EXCHANGE.match(command.name):
            assert command.params.get("ErrorAction") == "Stop", f"{label}: {command.text}"


def test_every_script_starts_with_a_byte_order_mark() -> None:
    golden = sorted((REPO / "tests" / "golden").rglob("*.ps1"))
    committed = sorted((REPO / "docs" / "environments").rglob("*.ps1"))
    assert golden and committed
    for path in [*golden, *committed]:
        assert path.read_bytes().startswith(b"\xef\xbb\xbf"), path
    for label, text in SCRIPTS.items():
        assert text.startswith("\ufeff"), label


@pytest.mark.parametrize("label", sorted(SCRIPTS))
def test_observe_and_back_out_use_the_same_state_file(label: str) -> None:
    text = SCRIPTS[label]
    commands = pwsh.commands(text)
    # One state file per script, named after the environment, the procedure and the change.
    paths = [c for c in commands if c.name == "Join-Path" and c.params.get("Path") != pwsh.SWITCH]
    state = [c for c in paths if isinstance(c.params.get("ChildPath"), str)]
    names = {c.params["ChildPath"] for c in state if str(c.params["ChildPath"]).endswith(".xml")}
    assert len(names) == 1, names
    # Named after the environment, the procedure, the change and the shell.
    procedure = "integration|renew-oauth-certificate|renew-exchange-auth-certificate"
    assert re.fullmatch(
        rf"{label.split('/')[0]}-({procedure})(-[A-Za-z0-9._-]+)?-(lync|exchange|dns)-state\.xml",
        *names,
    )
    assert text.count("$StatePath = ") == 1
    writes = [c for c in commands if c.name == "Export-Clixml"]
    reads = [c for c in commands if c.name == "Import-Clixml"]
    assert [c.params["LiteralPath"] for c in writes + reads] == [
        pwsh.Expr("variable", "$StatePath")
    ] * 2
    # Each step saves under its number before acting, and its back-out reads that number.
    saved = set(
        re.findall(
            r"Save-RunbookState -Step '(\w+)' -Observed \$observed -Decision \$decision -Changed \$false",
            text,
        )
    )
    read = set(re.findall(r"\$saved = \(Read-RunbookState\)\['(\w+)'\]", text))
    assert read <= saved, (read, saved)
    if _acting_cases(text):
        assert read, label


def test_a_step_saves_its_state_before_it_changes_anything() -> None:
    for label, text in SCRIPTS.items():
        for case in re.finditer(r"'(?:change|roll)' \{\n(.*?)\n {8}\}\n {4}'", text, re.S):
            body = case.group(1)
            save = body.find("-Changed $true")
            first_change = min(
                (body.find(c.text) for c in pwsh.commands(body) if CHANGES.match(c.name)),
                default=-1,
            )
            assert 0 <= save < first_change, f"{label}: {body}"


def test_the_test_user_is_written_with_a_labels(project: Path) -> None:
    path = project / "environments" / "litwareinc.yml"
    text = (
        path.read_text("utf-8")
        .replace("sip_domain: litwareinc.com", "sip_domain: bücher.example")
        .replace("test_user: sip:kenmyer@litwareinc.com", "test_user: sip:kenmyer@bücher.example")
    )
    path.write_text(text.replace("domain: litwareinc.com", "domain: litwareinc.com"), "utf-8")
    env, diagnostics = load(path, project, TODAY)
    assert env is not None, diagnostics
    files = rendering.render_environment(rendering.make_jinja_env(project / "templates"), env)
    script = files[PurePosixPath("litwareinc", "litwareinc-lync.ps1")]
    tests = [c for c in pwsh.commands(script) if c.name == "Test-CsExStorageConnectivity"]
    assert [c.params["SipUri"] for c in tests] == ["sip:kenmyer@xn--bcher-kva.example"]


def _change_request(project: Path, name: str) -> str:
    out = project / f"{name}.pdf"
    done = CliRunner().invoke(
        main, ["change-request", name, "-o", str(out), "--project", str(project)]
    )
    assert done.exit_code == 0, done.stderr
    reader = PdfReader(io.BytesIO(out.read_bytes()))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def test_the_change_request_states_conditions_impact_and_back_out_time(project: Path) -> None:
    text = _change_request(project, "litwareinc")
    # Each change with its condition, each back-out with its condition and alternatives.
    assert "Only when no partner application looks like Exchange's: none is named Exchange," in text
    assert "New-CsPartnerApplication -Identity Exchange" in text
    assert (
        "Only if this step created the partner application Exchange: disable it (non-destructive: "
        "Set-CsPartnerApplication -Enabled $False), or remove it" in text
    )
    assert "Only if this step added the record (the name did not exist before)" in text
    # What users notice, when: the IIS restarts one server at a time.
    impact = text[text.index("User impact") : text.index("Go/no-go points")]
    assert "iisreset" in impact and "one Exchange server at a time" in impact
    # The go/no-go points, with who decides.
    points = text[text.index("Go/no-go points") : text.index("Implementation")]
    assert "Decides: the Exchange administrator." in points
    # The window ends 2026-12-06T02:00:00+00:00; backing out every step takes 20 minutes.
    assert "Latest start of the back-out 2026-12-06T01:40:00+00:00" in text
    assert "not stated" not in text


def test_a_change_request_without_a_change_section_has_blanks_to_fill(project: Path) -> None:
    text = _change_request(project, "northwind")
    assert "Lines left blank are not in the environment file (its change: section)" in text
    assert "(the end of the window, less 20 minutes)" in text
    assert "not stated" not in text
