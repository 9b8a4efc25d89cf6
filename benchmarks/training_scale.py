"""Streaming training of every model of the three papers on this CPU: speed, memory against dataset size, bf16.

    python benchmarks/training_scale.py --shards WORK/faces --work WORK      # every script, about 40 minutes
    python benchmarks/training_scale.py --shards WORK/faces --work WORK --scripts mouth_sync,syncers --steps 20

SHARDS is a sharded dataset with faces and mouth crops (``talkhead preprocess RAW -o SHARDS --faces --mouths
--shard I/N``, every shard). For each training script (``--streaming True``, one process, the ``tiny`` or ``small``
presets a CPU can run, no validation), :func:`scale_plan.train`'s harness measures:

1. samples (windows, groups, sequences, crops) per second per process: the samples of ``--steps`` steps over the
   time the training loop took (the trainer's ``wall_seconds``: start-up and export left out);
2. the peak memory of the whole process tree on the shards and on the same shards listed 16 times
   (:func:`scale_plan.repeated`): streaming keeps it flat (target: x16 / x1 <= 1.10). The buffer is set below one
   pass of the small set (``--window_buffer``), else the small set's run would hold a smaller buffer than the big
   one's;
3. the training loss after ``--steps`` steps under ``--mixed_precision bf16`` against float32 (mean of the last
   five logged values of the script's main loss; target: within 5 %).

Writes benchmarks/results/training_scale.json and prints a table (scale_plan.py measures preprocessing and the
mouth-motion model's one-process against two-process curves).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

from common import machine, write_json
from scale_plan import peak_rss_mib, repeated

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
VALIDATION = "OpenTalker__video-retalking,smeetrs__deep_avsr"


def script_runs(work: Path) -> dict[str, dict]:
    """Each script: its file, its arguments, its batch size (samples a step) and the loss compared."""
    tiny_gan = ["--generator_config", "tiny", "--discriminator_config", "tiny"]
    return {
        "syncers": {
            "script": "train_syncers.py",
            "args": [
                "--model_config",
                "small",
                "--clips_per_batch",
                "4",
                "--group_size",
                "48",
                "--window_buffer",
                "16",
            ],
            "batch": 4,  # clips a batch (each cut into groups of 48 windows per level)
            "loss": "1",
        },
        "ms_sync": {
            "script": "train_ms_sync.py",
            "args": [*tiny_gan, "--loss_syncers", str(work / "syncers"), "--eval_syncers", "", "--batch_size", "8"],
            "batch": 8,
            "loss": "sync",
            "needs": "syncers",
        },
        "avsyncnet": {
            "script": "train_avsyncnet.py",
            "args": ["--model_config", "tiny", "--batch_size", "8"],
            "batch": 8,
        },
        "syncnet_expert": {
            "script": "train_syncnet_expert.py",
            "args": ["--model_config", "tiny", "--batch_size", "16", "--objective", "bce", "--window_buffer", "64"],
            "batch": 16,
        },
        "stable_sync": {
            "script": "train_stable_sync.py",
            "args": [*tiny_gan, "--stage", "silent-lip", "--avsyncnet", str(work / "avsyncnet"), "--batch_size", "8"]
            + ["--window_buffer", "64"],
            "batch": 8,
            "loss": "pixel",
            "needs": "avsyncnet",
        },
        "mouth_sync": {
            "script": "train_mouth_sync.py",
            "args": ["--model_config", "small", "--batch_size", "32"],
            "batch": 32,
        },
        "mouth_interior": {
            "script": "train_mouth_interior.py",
            "args": ["--model_config", "small", "--batch_size", "16", "--gan_start_step", "0"],
            "batch": 16,
            "loss": "l1",
        },
    }


def launch(script: str, args: list[str], dataset: Path, output: Path, steps: int, precision: str = "no") -> dict:
    """One streamed run of ``steps`` steps: wall seconds, peak memory of the process tree, logged losses."""
    shutil.rmtree(output, ignore_errors=True)
    command = [sys.executable, "-m", "accelerate.commands.launch", "--cpu", "--num_processes", "1"]
    command += ["--num_machines", "1", "--mixed_precision", precision, "--dynamo_backend", "no", str(EXAMPLES / script)]
    command += ["--dataset", str(dataset), "--output_dir", str(output), "--streaming", "True"]
    command += ["--validation_sources", VALIDATION, "--validation_steps", str(10 * steps), "--max_steps", str(steps)]
    command += ["--checkpointing_steps", str(steps), "--logging_steps", "1", "--report_to", "none", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "ACCELERATE_USE_CPU": "1", "TQDM_DISABLE": "1"}
    seconds, peak, _ = peak_rss_mib(command, env)
    state = json.loads((output / "checkpoints" / f"checkpoint_{steps}" / "trainer_state.json").read_text())
    return {
        "steps": steps,
        "seconds": round(seconds, 1),
        "training_seconds": state["wall_seconds"],
        "peak_rss_mib": round(peak),
        "losses": state["history"]["train"],
    }


def mean_of_last(losses: list, count: int = 5) -> float:
    values = [value for _, value in losses[-count:]]
    return sum(values) / len(values)


def frozen_models(work: Path) -> None:
    """The random tiny frozen models the GANs read: syncers (the sync loss) and AVSyncNet (the audio encoder)."""
    import torch

    from talkhead.models.avsyncnet import AVSyncNet, AVSyncNetConfig
    from talkhead.models.ms_sync import MSSyncSyncerConfig, MSSyncSyncerModel

    torch.manual_seed(0)
    MSSyncSyncerModel(MSSyncSyncerConfig.from_preset("tiny")).save_pretrained(work / "syncers")
    AVSyncNet(AVSyncNetConfig.from_preset("tiny")).save_pretrained(work / "avsyncnet")


def measure(name: str, run: dict, shards: Path, bigger: Path, work: Path, steps: int) -> dict:
    loss = run.get("loss", "loss")
    out = work / "runs" / name
    full = launch(run["script"], run["args"], shards, out / "x1", steps)
    x16 = launch(run["script"], run["args"], bigger, out / "x16", steps)
    bf16 = launch(run["script"], run["args"], shards, out / "bf16", steps, "bf16")
    fp32_loss, bf16_loss = mean_of_last(full["losses"][loss]), mean_of_last(bf16["losses"][loss])
    return {
        "batch": run["batch"],
        "steps": steps,
        "samples_per_second": round(steps * run["batch"] / full["training_seconds"], 2),
        "peak_rss_mib": {"x1": full["peak_rss_mib"], "x16": x16["peak_rss_mib"]},
        "memory_ratio": round(x16["peak_rss_mib"] / full["peak_rss_mib"], 3),
        "loss": loss,
        "fp32_loss": round(fp32_loss, 6),
        "bf16_loss": round(bf16_loss, 6),
        "bf16_relative_difference": round(abs(bf16_loss - fp32_loss) / max(abs(fp32_loss), 1e-9), 6),
        "seconds": {"x1": full["seconds"], "x16": x16["seconds"], "bf16": bf16["seconds"]},
    }


def table(report: dict) -> str:
    lines = [
        "| script | samples/s per process | peak MiB x1 | peak MiB x16 | x16 / x1 | loss | fp32 | bf16 | bf16 diff |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in report["scripts"].items():
        lines.append(
            f"| {name} | {row['samples_per_second']} | {row['peak_rss_mib']['x1']} | {row['peak_rss_mib']['x16']} | "
            f"{row['memory_ratio']:.3f} | {row['loss']} | {row['fp32_loss']:.4f} | {row['bf16_loss']:.4f} | "
            f"{100 * row['bf16_relative_difference']:.3f} % |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shards", required=True, type=Path, help="a sharded dataset with --faces --mouths")
    parser.add_argument("--work", required=True, type=Path, help="a folder for the runs")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--scripts", default=None, help="comma-separated subset (default: all seven)")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    frozen_models(args.work)
    bigger = repeated(args.shards, args.work / "shards-x16", 16)
    runs = script_runs(args.work)
    wanted = [name.strip() for name in args.scripts.split(",")] if args.scripts else list(runs)
    unknown = sorted(set(wanted) - set(runs))
    if unknown:
        raise SystemExit(f"error: --scripts {unknown} unknown; choose among {', '.join(runs)}")
    path = ROOT / "benchmarks" / "results" / "training_scale.json"
    previous = json.loads(path.read_text())["scripts"] if path.exists() else {}  # a subset run keeps the others
    report = {"machine": machine(), "shards": str(args.shards), "scripts": dict(previous)}
    for name in wanted:
        print(f"{name} ...", flush=True)
        report["scripts"][name] = measure(name, runs[name], args.shards, bigger, args.work, args.steps)
        write_json("training_scale", report)  # after each script: a long run keeps what it measured
    print(table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
