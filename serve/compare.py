"""`python -m serve.compare`, kept for scripts that call it: the job lives in serve.jobs.compare
(`sentilens compare` is the same command)."""

import sys

from serve.jobs.compare import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
