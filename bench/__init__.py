"""The benchmark suite of issue 7: `python -m bench` (or `make bench`) prints one table.

Every benchmark measures the platform and its baseline in the same run on the same data (these
machines are noisy, so only the ratio is compared with the goal) and reports the peak resident memory
of each side. The suite uses its own database (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/pp_bench), creates and migrates it, and seeds it with
`--products` products (default 10,000) as its first benchmark, or with `--reuse` keeps a dataset of
the same `--products` and `--seed` seeded by an earlier run. Then: the certification evaluation, the
port dashboard and the product list API (throughput under gunicorn with wrk on loopback), the monthly
publication of every port + national, the Excel import (`--import-rows`, default 10,000). The settings
are `bench.settings`, in-process and under gunicorn. See docs/PERFORMANCE.md.
"""
