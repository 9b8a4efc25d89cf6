"""``talkhead benchmark speed``: its rows, and that CPU use counts the worker processes."""

import multiprocessing
import time

from talkhead.benchmarks.speed import benchmark_speed, cpu_seconds, speed_table


def _spin(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_cpu_seconds_counts_a_child_process_that_is_still_running_and_one_that_exited():
    context = multiprocessing.get_context("fork")  # spawn would re-import torch in the child for 10 s
    before = cpu_seconds()
    worker = context.Process(target=_spin, args=(0.6,))
    worker.start()
    worker.join()
    assert cpu_seconds() - before >= 0.5  # reaped: through RUSAGE_CHILDREN

    pipe_end, child_end = context.Pipe()
    alive = context.Process(target=_hold, args=(child_end,))
    alive.start()
    try:
        assert pipe_end.recv() == "spun"
        middle = cpu_seconds()
        assert middle - before >= 1.0  # the live child's 0.5 s too
    finally:
        pipe_end.send("stop")
        alive.join()


def _hold(connection) -> None:
    _spin(0.5)
    connection.send("spun")
    connection.recv()


def test_a_short_lip_sync_run_reports_its_stages_cpu_use_and_memory():
    report = benchmark_speed(lengths=(0.4,), tasks=("lip-sync",), progress=False)
    (row,) = report["rows"]
    assert row["task"] == "lip-sync" and row["frames"] == 10
    assert 0.05 < row["cpu_cores"] <= report["machine"]["cpus"] + 0.25
    assert row["peak_memory_mib"] > 100 and {"decode", "encode"} <= set(row["stages"])
    table = speed_table(report)
    assert "CPU cores" in table.splitlines()[0] and f"{row['cpu_cores']:.2f}" in table
