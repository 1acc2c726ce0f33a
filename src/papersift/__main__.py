"""`python -m papersift` runs the CLI (same as the `papersift` script)."""

from .cli import app

app(prog_name="papersift")
