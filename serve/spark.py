"""`python -m serve.spark`, kept for scripts that call it: the job lives in serve.jobs.spark
(`sentilens spark` is the same command)."""

import sys

from serve.jobs.spark import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
