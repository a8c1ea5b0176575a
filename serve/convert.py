"""`python -m serve.convert`, kept for scripts that call it: the job lives in serve.jobs.convert
(`sentilens convert` is the same command)."""

import sys

from serve.jobs.convert import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
