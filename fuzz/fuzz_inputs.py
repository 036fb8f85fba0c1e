"""Coverage-guided fuzzing (atheris) of everything that parses outside input.

Run: make fuzz (FUZZ_SECONDS=60 by default; it writes the seed corpus with ``fuzz/seeds.py``
first). The first input byte picks the parser (``fuzz/targets.py``); any exception other than a
clear refusal is a crash that atheris reports with the input that caused it.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from fuzz.targets import one_input

if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
