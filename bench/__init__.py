"""The benchmark suite of issue 7: `python -m bench` (or `make bench`) prints one table.

Every benchmark measures the platform and its baseline in the same run on the same data (these
machines are noisy, so only the ratio is compared with the goal) and reports the peak resident memory
of each side. The suite uses its own database (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/pp_bench), creates and migrates it, and seeds it with
`--products` products (default 10,000) as its first benchmark. See docs/PERFORMANCE.md.
"""
