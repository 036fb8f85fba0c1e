"""Every command, every option, given values a user might type by mistake: never a traceback.

The guide's bar is one clear `Error: …` line and exit 2 for a refused input, whatever the input.
A sweep over each command's options with empty, folder-naming, out-of-range and strange values
found `-o ''` stopping with a traceback (`PosixPath('.') has an empty name`) in five commands,
and `-o out/` writing a file called `out`; this keeps the whole class covered as commands and
options are added. Each command is run with its arguments filled with plausible values and one
option (or argument) changed at a time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cli.main import app
from tests.conftest import manifest

RID = "SRCH:03BE3A05"
STRANGE = {
    "int": ["-1", "0", "99999999999999999999999", "x", ""],
    "path": ["", "{tmp}/missing/x", "{tmp}", "{tmp}/", "/dev/null", ".", "a/"],
    "text": ["", "\u202e", "a" * 3000, "-", "é\x01", " "],
}


def commands(group: click.Group, prefix: tuple[str, ...] = ()
             ) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            yield from commands(command, (*prefix, name))
        elif command is not None:
            yield (*prefix, name), command


def plausible(argument: click.Argument, files: dict[str, str]) -> str:
    name = (argument.name or "").lower()
    if "record" in name:
        return RID
    if name in ("out_dir",):
        return "out"
    if "size" in name or "seq" in name or name in ("old", "new"):
        return "1"
    if name == "shell":
        return "bash"
    if name == "text":
        return "routing"
    if name == "name":
        return "sweep.example"
    return files["manifest"]


def kind(param: click.Parameter) -> str:
    if isinstance(param.type, click.types._NumberParamTypeBase):
        return "int"
    if isinstance(param.type, (click.Path, click.File)):
        return "path"
    return "text"


def cases(files: dict[str, str]) -> Iterator[tuple[str, list[str]]]:
    for path, command in commands(app):
        if path == ("witness", "serve"):  # a server: its refusals are test_witness's
            continue
        arguments = [p for p in command.params if isinstance(p, click.Argument)]
        base = [plausible(a, files) for a in arguments]
        yield " ".join(path), [*path, *base]
        for param in command.params:
            values = ([*list(param.type.choices)[:2], "bogus"]
                      if isinstance(param.type, click.Choice) else STRANGE[kind(param)])
            if isinstance(param, click.Argument):
                at = arguments.index(param)
                for value in values:
                    yield f"{' '.join(path)} {param.name}={value[:20]!r}", [
                        *path, *base[:at], value, *base[at + 1:]]
            elif isinstance(param, click.Option) and not param.hidden:
                flag = max(param.opts, key=len)
                if flag in ("--help",):
                    continue
                if param.is_flag:
                    yield f"{' '.join(path)} {flag}", [*path, *base, flag]
                    continue
                for value in values:
                    yield f"{' '.join(path)} {flag}={value[:20]!r}", [*path, *base, flag, value]


def test_no_command_stops_with_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LEDGER_KEY", raising=False)
    monkeypatch.delenv("LEDGER_DB", raising=False)
    monkeypatch.delenv("LEDGER_KEY_PASSPHRASE", raising=False)
    runner = CliRunner()
    db = tmp_path / "sweep.db"
    doc = tmp_path / "manifest.json"
    doc.write_text(json.dumps(manifest(RID)))
    for args in (["init"], ["publish", str(doc)]):
        assert runner.invoke(app, ["--db", str(db), *args]).exit_code == 0
    files = {"manifest": str(doc)}
    seen = 0
    for label, args in cases(files):
        args = [a.replace("{tmp}", str(tmp_path)) for a in args]
        result = runner.invoke(app, ["--db", str(db), "--actor", "sweep", *args], input="")
        seen += 1
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            label, result.output)
        assert result.exit_code in (0, 1, 2), (label, result.exit_code, result.output)
        if result.exit_code == 2:
            lines = result.stderr.strip().splitlines()
            assert lines and (lines[-1].startswith("Error: ") or lines[0].startswith("Usage:")), (
                label, result.stderr)
            assert "Traceback" not in result.stderr, (label, result.stderr)
    assert seen > 500
