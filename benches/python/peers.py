"""Python peers of pp's benchmarks (standard library only).

Usage: python3 peers.py <measurement> <n>
Prints the elapsed seconds of the measured part only (pools are started and
warmed up before the clock starts), so a benchmark harness can put the figure
beside pp's, measured in the same run.
"""

import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor


def add_one(x):
    return x + 1


def throughput(executor, n):
    futures = [executor.submit(add_one, i) for i in range(n)]
    for f in futures:
        f.result()


def round_trip(executor, n):
    for i in range(n):
        executor.submit(add_one, i).result()


def main():
    measurement, n = sys.argv[1], int(sys.argv[2])
    pool_kind, _, what = measurement.partition(":")
    executor_class = {"process-pool": ProcessPoolExecutor, "thread-pool": ThreadPoolExecutor}[pool_kind]
    run = {"throughput": throughput, "round-trip": round_trip}[what]
    with executor_class(max_workers=2) as executor:
        # Warm up: start every worker before the clock starts.
        for f in [executor.submit(add_one, i) for i in range(64)]:
            f.result()
        started = time.perf_counter()
        run(executor, n)
        print(time.perf_counter() - started)


if __name__ == "__main__":
    main()
