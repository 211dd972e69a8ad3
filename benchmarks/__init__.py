"""Benchmarks: omescale against its peers and the I/O floor, side by side, ratios in one run.

Run ``python -m benchmarks.run --help``; see ``docs/benchmarks.md``. Every contender runs in a
fresh subprocess (``benchmarks.worker``) so that imports, caches and memory do not leak between
runs, and the parent samples the resident memory of the child's whole process tree.
"""
