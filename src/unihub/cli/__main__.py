"""`python -m unihub.cli`: the same command as the `unihub` console script."""

from unihub.cli import app

app()
