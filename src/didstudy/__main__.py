"""``python -m didstudy``."""

from didstudy.cli import run

if __name__ == "__main__":
    run()
