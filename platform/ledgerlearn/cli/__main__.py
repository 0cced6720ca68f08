"""``python -m ledgerlearn.cli``: the ``ledgerlearn`` command."""

from ledgerlearn.cli import app

if __name__ == "__main__":
    app()
