"""`python -m unihub.cli`: the same command as the `unihub` console script."""

from unihub.cli import app

if __name__ == "__main__":
    app()
