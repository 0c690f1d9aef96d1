"""`python -m tinygrad_nn` is the `tinygrad-nn` command."""

from .cli import run

run()
