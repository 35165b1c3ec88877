"""The ``ncp`` command (placeholder, filled in by the foundation work)."""

import typer

app = typer.Typer(help="eHDSI National Contact Point for eHealth (Luxembourg) and the DSP.")
