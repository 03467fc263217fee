"""Python peers of pp's benchmarks (standard library only).

Usage:
  python3 peers.py <measurement> <n>            -> one line: seconds for n operations
  python3 peers.py --reps R <measurement> <n>   -> R lines, one per repetition
                                                    (after one warm-up repetition)
  python3 peers.py memory:<what> <n>            -> one line: bytes, measured in this
                                                    fresh interpreter (run it once per
                                                    repetition)

Only the measured part is timed: pools, queues and peer processes are set up
and warmed up before the clock starts. `cargo xtask bench` and the criterion
benches run this script so each pp figure has its Python peer from the same run.
"""

import multiprocessing as mp
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor


def add_one(x):
    return x + 1


# ----- pools -----------------------------------------------------------------

def pool_throughput(executor, n):
    futures = [executor.submit(add_one, i) for i in range(n)]
    for f in futures:
        f.result()


def pool_round_trip(executor, n):
    for i in range(n):
        executor.submit(add_one, i).result()


def with_pool(executor_class, run):
    def measure(n, reps):
        with executor_class(max_workers=2) as executor:
            for f in [executor.submit(add_one, i) for i in range(64)]:
                f.result()
            return [timed(lambda: run(executor, n)) for _ in range(reps)]
    return measure


# ----- processes -------------------------------------------------------------

def subprocess_run(n, reps):
    def batch():
        for _ in range(n):
            subprocess.run(["/bin/true"], capture_output=True, check=True)
    return [timed(batch) for _ in range(reps)]


def scale_popen(n, reps):
    def batch():
        procs = [subprocess.Popen(["/bin/true"]) for _ in range(n)]
        for p in procs:
            p.wait()
    return [timed(batch) for _ in range(reps)]


# ----- queues ----------------------------------------------------------------

def _sink(q, acks):
    while True:
        item = q.get()
        if item is None:
            return
        if item == b"":
            acks.put(1)


def _echo(inbox, outbox):
    while True:
        item = inbox.get()
        if item is None:
            return
        outbox.put(item)


def queue_one_way(size, factory):
    def measure(n, reps):
        q, acks = factory(), factory()
        peer = mp.Process(target=_sink, args=(q, acks))
        peer.start()
        item = b"x" * size

        def batch():
            for _ in range(n):
                q.put(item)
            q.put(b"")
            acks.get()
        try:
            batch()  # warm-up
            return [timed(batch) for _ in range(reps)]
        finally:
            q.put(None)
            peer.join()
    return measure


def queue_ping_pong(factory):
    def measure(n, reps):
        there, back = factory(), factory()
        peer = mp.Process(target=_echo, args=(there, back))
        peer.start()
        item = b"x" * 8

        def batch():
            for _ in range(n):
                there.put(item)
                back.get()
        try:
            batch()
            return [timed(batch) for _ in range(reps)]
        finally:
            there.put(None)
            peer.join()
    return measure


# ----- values, locks, events -------------------------------------------------

def value_get_set(factory):
    def measure(n, reps):
        v = factory()

        def batch():
            for _ in range(n):
                v.value = v.value + 1
        return [timed(batch) for _ in range(reps)]
    return measure


def lock_acquire_release(factory):
    def measure(n, reps):
        lock = factory()

        def batch():
            for _ in range(n):
                lock.acquire()
                lock.release()
        return [timed(batch) for _ in range(reps)]
    return measure


def _event_echo(ping, pong, stop):
    while not stop.is_set():
        if ping.wait(0.1):
            ping.clear()
            pong.set()


def event_ping_pong(factory):
    def measure(n, reps):
        ping, pong, stop = factory(), factory(), factory()
        peer = mp.Process(target=_event_echo, args=(ping, pong, stop))
        peer.start()

        def batch():
            for _ in range(n):
                ping.set()
                pong.wait()
                pong.clear()
        try:
            batch()
            return [timed(batch) for _ in range(reps)]
        finally:
            stop.set()
            peer.join()
    return measure


# ----- memory (bytes, one figure per fresh interpreter) ------------------------

def status_bytes(pid, field):
    """`field` of /proc/<pid>/status (VmRSS, VmHWM) in bytes; None if gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def descendants(pid):
    """The pids of every live process descended from `pid`."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 1:].split()[1])
        children.setdefault(ppid, []).append(int(name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def idle_peak(_):
    """Peak RSS of this process having done nothing: the baseline."""
    return status_bytes(os.getpid(), "VmHWM")


def spawn_popen_peak(n):
    """Peak RSS of this process after n concurrent `sleep 1` started and waited."""
    procs = [subprocess.Popen(["sleep", "1"]) for _ in range(n)]
    for p in procs:
        p.wait()
    return status_bytes(os.getpid(), "VmHWM")


def _worker_pid(_):
    time.sleep(0.05)
    return os.getpid()


def process_pool_rss(workers):
    """VmRSS of this process and its descendants, summed, with an idle pool
    whose workers have each run a task."""
    with ProcessPoolExecutor(max_workers=workers) as executor:
        seen = set()
        for _ in range(50):
            seen.update(executor.map(_worker_pid, range(workers)))
            if len(seen) >= workers:
                break
        time.sleep(0.2)
        me = os.getpid()
        return sum(status_bytes(p, "VmRSS") or 0 for p in [me] + descendants(me))


def mp_queue_growth(n):
    """VmRSS growth while a multiprocessing.Queue holds n fresh 1 KiB items
    (nobody reads: the feeder thread writes what fits in the pipe, the rest
    waits in its buffer)."""
    before = status_bytes(os.getpid(), "VmRSS")
    q = mp.Queue()
    for i in range(n):
        q.put(bytes([i % 256]) * 1024)
    time.sleep(0.2)  # the feeder thread fills the pipe and blocks
    after = status_bytes(os.getpid(), "VmRSS")
    q.cancel_join_thread()  # exit without draining: nobody reads
    return after - before


MEMORY = {
    "memory:idle": idle_peak,
    "memory:spawn-popen": spawn_popen_peak,
    "memory:process-pool": process_pool_rss,
    "memory:mp-queue": mp_queue_growth,
}


# ----- driver ----------------------------------------------------------------

def timed(fn):
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


_manager = None


def manager():
    global _manager
    if _manager is None:
        _manager = mp.Manager()
    return _manager


MEASUREMENTS = {
    "process-pool:throughput": with_pool(ProcessPoolExecutor, pool_throughput),
    "process-pool:round-trip": with_pool(ProcessPoolExecutor, pool_round_trip),
    "thread-pool:throughput": with_pool(ThreadPoolExecutor, pool_throughput),
    "thread-pool:round-trip": with_pool(ThreadPoolExecutor, pool_round_trip),
    "subprocess:run-true": subprocess_run,
    "subprocess:scale-popen": scale_popen,
    "mp-queue:one-way-8": queue_one_way(8, mp.Queue),
    "mp-queue:one-way-1024": queue_one_way(1024, mp.Queue),
    "mp-queue:ping-pong": queue_ping_pong(mp.Queue),
    "manager-queue:one-way-8": queue_one_way(8, lambda: manager().Queue()),
    "manager-queue:one-way-1024": queue_one_way(1024, lambda: manager().Queue()),
    "manager-queue:ping-pong": queue_ping_pong(lambda: manager().Queue()),
    "mp-value:get-set": value_get_set(lambda: mp.Value("l", 0)),
    "manager-value:get-set": value_get_set(lambda: manager().Value("l", 0)),
    "mp-lock:acquire-release": lock_acquire_release(mp.Lock),
    "manager-lock:acquire-release": lock_acquire_release(lambda: manager().Lock()),
    "mp-event:ping-pong": event_ping_pong(mp.Event),
    "manager-event:ping-pong": event_ping_pong(lambda: manager().Event()),
}


def main():
    args = sys.argv[1:]
    reps = None
    if args[:1] == ["--reps"]:
        reps, args = int(args[1]), args[2:]
    measurement, n = args[0], int(args[1])
    if measurement in MEMORY:
        print(MEMORY[measurement](n))
        return
    if measurement not in MEASUREMENTS:
        known = ", ".join(list(MEASUREMENTS) + list(MEMORY))
        sys.exit(f"unknown measurement {measurement!r}; known: {known}")
    if reps is None:
        # One figure after one warm-up: the criterion benches' protocol.
        times = MEASUREMENTS[measurement](n, 2)
        print(times[-1])
    else:
        for t in MEASUREMENTS[measurement](n, reps + 1)[1:]:
            print(t)
    if _manager is not None:
        _manager.shutdown()


if __name__ == "__main__":
    main()
