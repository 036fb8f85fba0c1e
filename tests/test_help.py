"""Every command has help with an example, and is documented in docs/cli.md."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import COMMAND_MODULES, app

CLI_DOC = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text()
SPEC_COMMANDS = ["init", "publish", "provenance", "correct", "gate", "show", "history", "log",
                 "verify", "audit", "rebuild", "export"]


def test_every_spec_command_exists() -> None:
    assert set(SPEC_COMMANDS) <= set(COMMAND_MODULES)


def test_the_lazy_command_table_names_every_command_of_every_module() -> None:
    import importlib

    for module_name in set(COMMAND_MODULES.values()):
        module = importlib.import_module(module_name, "cli")
        assert {c.name for c in module.COMMANDS} == \
               {n for n, m in COMMAND_MODULES.items() if m == module_name}, module_name
    listed = CliRunner().invoke(app, ["--help"]).output
    assert all(f"  {name} " in listed for name in COMMAND_MODULES)


@pytest.mark.parametrize("name", sorted(COMMAND_MODULES))
def test_help_has_an_example(name: str) -> None:
    result = CliRunner().invoke(app, [name, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output
    assert f"ledger {name}" in result.output or "ledger --db" in result.output


@pytest.mark.parametrize("name", sorted(COMMAND_MODULES))
def test_command_is_in_docs_cli(name: str) -> None:
    headings = [line for line in CLI_DOC.splitlines() if line.startswith("## ")]
    assert any(f"`ledger {name} " in h or f"`ledger {name}`" in h for h in headings), \
        f"docs/cli.md has no section for `ledger {name}`"


@pytest.mark.parametrize("args", [[name] for name in sorted(COMMAND_MODULES)]
                         + [["key", sub] for sub in ("add", "revoke", "list")])
def test_example_blocks_keep_their_lines(args: list[str]) -> None:
    """click reflows a help paragraph unless it starts with a \\b line: an Example block must
    keep one command per line."""
    lines = CliRunner().invoke(app, [*args, "--help"]).output.splitlines()
    start = lines.index("  Example:") + 1
    example = [line for line in lines[start:] if line.strip()][:1]
    assert example and example[0].startswith("      ledger"), (args, lines[start:start + 3])
    assert all(line.count("ledger ") <= 1 for line in lines), args


READ_COMMANDS = ["show", "history", "log", "verify", "audit", "export"]


@pytest.mark.parametrize("name", READ_COMMANDS)
def test_read_commands_take_json(name: str) -> None:
    assert "--json" in CliRunner().invoke(app, [name, "--help"]).output


def test_every_option_is_in_docs_cli() -> None:
    """docs/cli.md names every long option of every command (and of `key`'s subcommands)."""
    import click

    ctx = click.Context(app)
    missing = []
    for name in sorted(COMMAND_MODULES):
        command = app.get_command(ctx, name)
        assert command is not None
        commands = ([(f"{name} {sub}", command.get_command(ctx, sub)) for sub in command.list_commands(ctx)]
                    if isinstance(command, click.Group) else [(name, command)])
        for full, sub in commands:
            assert sub is not None
            missing += [(full, opt) for param in sub.params for opt in param.opts
                        if opt.startswith("--") and opt != "--help" and f"`{opt}" not in CLI_DOC
                        and f"{opt} " not in CLI_DOC and f"{opt}=" not in CLI_DOC]
    assert not missing, f"docs/cli.md does not name {missing}"


@pytest.mark.parametrize("args", [[], ["key"], ["witness"]], ids=["ledger", "key", "witness"])
def test_a_group_without_a_command_prints_its_help(args: list[str]) -> None:
    """`ledger` alone (a newcomer's first try), `ledger key` or `ledger witness` printed the help
    as one `Error: Usage: …\\n\\n  Provenance…` line, each line end written as a visible `\\n`.
    The help is printed as `--help` prints it, on stderr, exit 2 (nothing was done)."""
    import subprocess
    import sys

    def run(*given: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", "from cli.main import main; main()", *given],
                              capture_output=True, text=True, timeout=60,
                              cwd=Path(__file__).resolve().parents[1])

    done, helped = run(*args), run(*args, "--help")
    assert done.returncode == 2 and done.stdout == "", done.stderr
    assert done.stderr == helped.stdout and "\\n" not in done.stderr
    assert done.stderr.startswith(f"Usage: ledger {' '.join(args)}".rstrip() + " [OPTIONS] COMMAND")


@pytest.mark.parametrize("args", [[], ["key"], ["witness"]], ids=["ledger", "key", "witness"])
def test_every_command_is_summed_up_whole(args: list[str]) -> None:
    """`ledger --help`, a newcomer's first page, listed 27 of its 37 commands cut off with
    `...` (click cuts a docstring's first sentence to what 80 columns leave): each now has a
    summary of its own that fits, and ends as a sentence does."""
    listed = CliRunner(env={"COLUMNS": "80"}).invoke(app, [*args, "--help"]).output
    commands = listed.split("Commands:\n", 1)[1].splitlines()
    assert commands and all(line.startswith("  ") for line in commands), listed
    for line in commands:
        assert not line.endswith("...") and line.rstrip()[-1] in ".…)", line
        assert len(line) <= 80, line


def _leaf_commands() -> list[tuple[str, object]]:
    import click

    ctx = click.Context(app)
    found = []
    for name in sorted(COMMAND_MODULES):
        command = app.get_command(ctx, name)
        if isinstance(command, click.Group):
            sub_ctx = click.Context(command, parent=ctx)
            found += [(f"{name} {sub}", command.get_command(sub_ctx, sub))
                      for sub in command.list_commands(sub_ctx)]
        else:
            found.append((name, command))
    return found


def test_every_option_says_what_it_is_for() -> None:
    """`--help` explains every option, not only its type (``--checkpoint FILE [required]`` told
    a newcomer nothing of where a checkpoint comes from)."""
    import click

    bare = [(name, p.opts) for name, command in _leaf_commands()
            for p in command.params  # type: ignore[attr-defined]
            if isinstance(p, click.Option) and not p.hidden and not p.help]
    assert bare == []
