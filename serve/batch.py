"""`python -m serve.batch`, kept for scripts that call it: the job lives in serve.jobs.batch
(`sentilens batch` is the same command)."""

import sys

from serve.jobs.batch import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
