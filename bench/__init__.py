"""Benchmarks: each prints its figures; the README and docs/results.md quote them."""

import sentilens  # noqa: F401 - the product's process defaults (one BLAS thread) before numpy loads, as in the app
