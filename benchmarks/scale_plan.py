"""The numbers behind "Training on VoxCeleb2 / LRS2 / HDTF" in the README: preprocessing and training per process.

    python benchmarks/scale_plan.py --work ~/scale                 # everything (about an hour on 2 cores)
    python benchmarks/scale_plan.py --work ~/scale --skip-preprocess

1. Preprocessing throughput of one process (``talkhead preprocess --shard I/4`` over ../shared/data/raw, one shard
   at a time, ``--num-proc 1``): clips/min and video-minutes/min, with and without ``--faces``, and with
   ``--phones --phone-decoder words`` (what streaming training of the shipped mouth-motion recipe reads).
2. Streaming training of ``examples/train_mouth_motion.py --streaming`` on those shards: samples/s per process and
   the peak memory of the whole process tree, on the training set and on the same shards listed 16 times (a
   16x bigger dataset: the same Parquet files linked under 64 shard names).
3. One process with batch 32 against two processes with batch 16 each (``accelerate launch --multi_gpu
   --num_processes 2``, ``ACCELERATE_USE_CPU=1``): the loss curves of the same global batch.

Writes benchmarks/results/scale_plan.json, the plot benchmarks/results/scale_plan_losses.png and the
"scale_plan" section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from common import REAL_DATA, machine, update_results_section, write_json

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "examples" / "train_mouth_motion.py"
TEST_SOURCES = "OpenTalker__SadTalker,yerfor__MimicTalk,bytedance__LatentSync"
VALIDATION = "OpenTalker__video-retalking,smeetrs__deep_avsr"
SHARDS = 4


def peak_rss_mib(command: list[str], env: dict) -> tuple[float, float, str]:
    """(wall seconds, peak summed RSS of the process tree in MiB, output) of ``command``."""
    import psutil

    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    peak, chunks = 0.0, []
    reader = threading.Thread(target=lambda: chunks.append(process.stdout.read()), daemon=True)
    reader.start()
    root = psutil.Process(process.pid)
    while process.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()) / 2**20)
        except psutil.Error:
            pass
        time.sleep(0.2)
    reader.join()
    output = "".join(chunks)
    if process.returncode:
        raise SystemExit(f"{' '.join(command[:6])} ... failed:\n{output[-3000:]}")
    return time.perf_counter() - started, peak, output


def preprocess_shards(output: Path, extra: list[str]) -> dict:
    """Every shard of ../shared/data/raw, one after another, one process each; totals from the manifests."""
    from talkhead.data.shards import read_manifests

    shutil.rmtree(output, ignore_errors=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    seconds = 0.0
    for index in range(SHARDS):
        started = time.perf_counter()
        command = [
            sys.executable,
            "-m",
            "talkhead.cli",
            "preprocess",
            str(REAL_DATA),
            "-o",
            str(output),
            "--shard",
            f"{index}/{SHARDS}",
            "--num-proc",
            "1",
            "--quiet",
            "--test-sources",
            TEST_SOURCES,
        ]
        subprocess.run([*command, *extra], check=True, env=env, capture_output=True)
        seconds += time.perf_counter() - started
    manifests = read_manifests(output)
    clips = sum(1 for m in manifests for c in m["clips"] if not c.get("skipped"))
    minutes = sum(m["minutes"] for m in manifests)
    return {
        "options": extra,
        "shards": SHARDS,
        "clips": clips,
        "video_minutes": round(minutes, 2),
        "seconds": round(seconds, 1),
        "clips_per_minute": round(clips / seconds * 60, 1),
        "video_minutes_per_minute": round(minutes / seconds * 60, 2),
    }


def repeated(shards: Path, output: Path, times: int) -> Path:
    """``shards`` listed ``times`` times: each Parquet file linked under ``times`` shard names, manifests to match."""
    shutil.rmtree(output, ignore_errors=True)
    (output / "data").mkdir(parents=True)
    (output / "manifests").mkdir()
    manifests = json.loads(json.dumps([json.loads(p.read_text()) for p in sorted((shards / "manifests").iterdir())]))
    count = len(manifests) * times
    for copy in range(times):
        for manifest in manifests:
            index = copy * len(manifests) + manifest["shard"]["index"]
            name = f"{index:05d}-of-{count:05d}"
            old = f"{manifest['shard']['index']:05d}-of-{manifest['shard']['count']:05d}"
            for split in manifest["splits"]:
                os.symlink(
                    (shards / "data" / f"{split}-{old}.parquet").resolve(), output / "data" / f"{split}-{name}.parquet"
                )
            (output / "manifests" / f"shard-{name}.json").write_text(
                json.dumps({**manifest, "shard": {"index": index, "count": count}})
            )
    return output


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def train(dataset: Path, output: Path, processes: int, batch: int, steps: int) -> dict:
    shutil.rmtree(output, ignore_errors=True)
    launch = ["--multi_gpu", "--main_process_port", str(free_port())] if processes > 1 else ["--cpu"]
    command = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        *launch,
        "--num_processes",
        str(processes),
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        str(SCRIPT),
        "--dataset",
        str(dataset),
        "--output_dir",
        str(output),
        "--streaming",
        "True",
        "--validation_sources",
        VALIDATION,
        "--phone_decoder",
        "words",
        "--dropout",
        "0.5",
        "--input_dropout",
        "0.4",
        "--hidden_size",
        "64",
        "--opening_loss_weight",
        "10",
        "--batch_size",
        str(batch),
        "--max_steps",
        str(steps),
        "--validation_steps",
        str(steps),
        "--checkpointing_steps",
        str(steps),
        "--logging_steps",
        "5",
        "--report_to",
        "none",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "ACCELERATE_USE_CPU": "1", "TQDM_DISABLE": "1"}
    seconds, peak, output_text = peak_rss_mib(command, env)
    state = json.loads((output / "checkpoints" / f"checkpoint_{steps}" / "trainer_state.json").read_text())
    return {
        "processes": processes,
        "batch_per_process": batch,
        "steps": steps,
        "seconds": round(seconds, 1),
        "peak_rss_mib": round(peak),
        "losses": state["history"]["train"]["loss"],
    }


def samples_per_second(short: dict, long: dict) -> float:
    """Per process, from the difference of two runs (start-up, validation and export cancel out)."""
    samples = (long["steps"] - short["steps"]) * long["batch_per_process"]
    return round(samples / (long["seconds"] - short["seconds"]), 1)


def plot_losses(runs: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 3.5))
    for label, run in runs.items():
        steps, values = zip(*run["losses"], strict=True)
        axis.plot(steps, values, label=label)
    axis.set_xlabel("optimiser step")
    axis.set_ylabel("training loss (global batch of 32)")
    axis.set_title("train_mouth_motion.py --streaming: one process against two")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def markdown(report: dict) -> str:
    pre, runs = report["preprocess"], report["training"]
    lines = [
        "### Past one machine: sharded preprocessing and streaming training",
        "",
        f"`python benchmarks/scale_plan.py --work WORK` on {report['machine']['date']} ({report['machine']['cores']} "
        "cores, shared). Preprocessing: every shard of ../shared/data/raw (--shard I/4, one after another, one "
        "process each, `OMP_NUM_THREADS=1`).",
        "",
        "| preprocessing options | clips | video minutes | seconds | clips/min | video-minutes/min |",
        "|---|---|---|---|---|---|",
    ]
    for row in pre:
        lines.append(
            f"| {' '.join(row['options']) or '(landmarks and audio only)'} | {row['clips']} | "
            f"{row['video_minutes']} | {row['seconds']} | {row['clips_per_minute']} | "
            f"{row['video_minutes_per_minute']} |"
        )
    lines += [
        "",
        "Streaming training (`examples/train_mouth_motion.py --streaming`, the shipped recipe's model, word phones "
        "stored by preprocessing, windows of 100 frames), peak memory of the whole process tree:",
        "",
        "| run | processes x batch | steps | seconds | peak memory |",
        "|---|---|---|---|---|",
    ]
    for name, run in runs.items():
        lines.append(
            f"| {name} | {run['processes']} x {run['batch_per_process']} | {run['steps']} | "
            f"{run['seconds']} | {run['peak_rss_mib']} MiB |"
        )
    lines += [
        "",
        f"Samples/s per process: {report['samples_per_second']} (one process, from the difference of "
        f"the {runs['short']['steps']}- and {runs['train set']['steps']}-step runs). Peak memory on the set "
        f"repeated 16 times / on the set: {report['memory_ratio']:.3f}. One process (batch 32) against two "
        f"(16 each): mean absolute difference of the logged losses {report['loss_difference']:.4f}, "
        f"against a mean loss of {report['mean_loss']:.4f} (plot: `benchmarks/results/scale_plan_losses.png`).",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", required=True, type=Path, help="a folder for the shards and runs")
    parser.add_argument("--steps", type=int, default=120)
    parser.add_argument("--skip-preprocess", action="store_true", help="reuse WORK/words (and the previous JSON)")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    shards = args.work / "words"
    previous = ROOT / "benchmarks" / "results" / "scale_plan.json"
    if args.skip_preprocess:
        pre = json.loads(previous.read_text())["preprocess"]
    else:
        pre = [
            preprocess_shards(args.work / "plain", []),
            preprocess_shards(args.work / "faces", ["--faces"]),
            preprocess_shards(shards, ["--phones", "--phone-decoder", "words"]),
        ]
        shutil.rmtree(args.work / "plain")
        shutil.rmtree(args.work / "faces")
    bigger = repeated(shards, args.work / "words-x16", 16)
    runs = {
        "short": train(shards, args.work / "run-short", 1, 32, 20),
        "train set": train(shards, args.work / "run-one", 1, 32, args.steps),
        "set x16": train(bigger, args.work / "run-x16", 1, 32, args.steps),
        "two processes": train(shards, args.work / "run-two", 2, 16, args.steps),
    }
    one, two = dict(runs["train set"]["losses"]), dict(runs["two processes"]["losses"])
    common = sorted(set(one) & set(two))
    report = {
        "machine": machine(),
        "preprocess": pre,
        "training": runs,
        "samples_per_second": samples_per_second(runs["short"], runs["train set"]),
        "memory_ratio": runs["set x16"]["peak_rss_mib"] / runs["train set"]["peak_rss_mib"],
        "loss_difference": sum(abs(one[s] - two[s]) for s in common) / len(common),
        "mean_loss": sum(one[s] for s in common) / len(common),
    }
    write_json("scale_plan", report)
    plot_losses(
        {"1 process x 32": runs["train set"], "2 processes x 16": runs["two processes"]},
        ROOT / "benchmarks" / "results" / "scale_plan_losses.png",
    )
    update_results_section("scale_plan", markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
