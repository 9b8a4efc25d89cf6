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
   five logged values of the script's main loss; target: within 5 %);
4. with ``--processes``: two processes with half the batch each (``accelerate launch --multi_gpu --num_processes 2``,
   ``ACCELERATE_USE_CPU=1``) against one process with the whole batch: the mean absolute difference of the logged
   main loss, step by step, against the same difference between one-process runs with seeds 0, 1 and 2 (the mean
   of the three pairs, and their range; target: within the range the seeds span).

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

from common import machine, update_results_section, write_json
from scale_plan import free_port, peak_rss_mib, repeated

ROOT = Path(__file__).resolve().parents[1]
INTRODUCTION = (
    "### Every training script, streamed: speed, memory, bf16, two processes\n\n"
    "`python benchmarks/training_scale.py --shards SHARDS --work WORK` (and `--processes`) on this project's 2-core "
    "CPU, one process each, `OMP_NUM_THREADS=1`, the `tiny` or `small` presets a CPU runs (the papers' sizes are "
    "slower: untested on a GPU, none was lent), `--steps` steps, no validation during the timed runs. SHARDS: the 45 "
    "clips of ../shared/data/raw preprocessed with `--faces --mouths` in 2 shards; x16: the same files listed 16 "
    "times. Samples: a clip (syncers: its windows at every level), a landmark sequence (ms_sync), an offset group of 8 "
    "face windows (avsyncnet), a face window and a mel window, aligned or not (syncnet_expert), a target face window "
    "with its reference (stable_sync), a group of 8 mouth-shape windows "
    "(mouth_sync), a mouth crop with its reference (mouth_interior). Targets: x16 / x1 <= 1.10; bf16 within 5 % "
    "of float32; two processes no further from one process than the seeds are from each other (within the range of "
    "the three seed pairs; the ratio to their mean shows how noisy 30 steps are)."
)
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
            "span": None,  # a sample is a clip: its windows at every level
            "loss": "1",
        },
        "ms_sync": {
            "script": "train_ms_sync.py",
            "args": [*tiny_gan, "--loss_syncers", str(work / "syncers"), "--eval_syncers", "", "--batch_size", "8"],
            "batch": 8,
            "span": 43,  # 3 warm-up frames + --sequence_length 40
            "loss": "sync",
            "needs": "syncers",
        },
        "avsyncnet": {
            "script": "train_avsyncnet.py",
            "args": ["--model_config", "tiny", "--batch_size", "8"],
            "batch": 8,
            "span": 19,  # --offset_windows 8, 2 frames apart, of 5 frames
        },
        "syncnet_expert": {
            "script": "train_syncnet_expert.py",
            "args": ["--model_config", "tiny", "--batch_size", "16", "--objective", "bce", "--window_buffer", "64"],
            "batch": 16,
            "span": 10,  # two 5-frame windows (BCE pairs)
        },
        "stable_sync": {
            "script": "train_stable_sync.py",
            "args": [*tiny_gan, "--stage", "silent-lip", "--avsyncnet", str(work / "avsyncnet"), "--batch_size", "8"]
            + ["--window_buffer", "64"],
            "batch": 8,
            "span": 10,  # two 5-frame windows
            "loss": "pixel",
            "needs": "avsyncnet",
        },
        "mouth_sync": {
            "script": "train_mouth_sync.py",
            "args": ["--model_config", "small", "--batch_size", "32"],
            "batch": 32,
            "span": 39,  # 8 windows of 25 frames, 2 apart
        },
        "mouth_interior": {
            "script": "train_mouth_interior.py",
            "args": ["--model_config", "small", "--batch_size", "16", "--gan_start_step", "0"],
            "batch": 16,
            "span": 24,  # 2 x 12 frames between a target and its reference
            "loss": "l1",
        },
    }


def launch(
    script: str, args: list[str], dataset: Path, output: Path, steps: int, precision: str = "no", processes: int = 1
) -> dict:
    """One streamed run of ``steps`` steps: wall seconds, peak memory of the process tree, logged losses."""
    shutil.rmtree(output, ignore_errors=True)
    devices = ["--multi_gpu", "--main_process_port", str(free_port())] if processes > 1 else ["--cpu"]
    command = [sys.executable, "-m", "accelerate.commands.launch", *devices, "--num_processes", str(processes)]
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


BATCH_FLAGS = ("--batch_size", "--clips_per_batch")


def with_batch(args: list[str], batch: int) -> list[str]:
    """``args`` with the per-process batch (``--batch_size`` or ``--clips_per_batch``) set to ``batch``."""
    changed = list(args)
    index = next(i for i, arg in enumerate(changed) if arg in BATCH_FLAGS)
    changed[index + 1] = str(batch)
    return changed


def curve_difference(first: list, second: list) -> float:
    """Mean absolute difference of two logged loss curves over the steps both logged."""
    seconds = dict((step, value) for step, value in second)
    pairs = [(value, seconds[step]) for step, value in first if step in seconds]
    return sum(abs(a - b) for a, b in pairs) / len(pairs)


def logged_losses(run: dict, args: list[str], shards: Path, output: Path, steps: int, processes: int = 1) -> dict:
    """The logged losses of a run of ``steps`` steps into ``output``: read back when a previous run finished there
    (runs are deterministic), else run."""
    state = output / "checkpoints" / f"checkpoint_{steps}" / "trainer_state.json"
    if state.is_file():
        return json.loads(state.read_text())["history"]["train"]
    return launch(run["script"], args, shards, output, steps, processes=processes)["losses"]


def compare_processes(name: str, run: dict, shards: Path, work: Path, steps: int) -> dict:
    """Two processes with half the batch each against one with the whole batch (the same seed), and the noise: the
    mean difference of the three pairs of one-process runs with seeds 0, 1 and 2."""
    loss, out = run.get("loss", "loss"), work / "runs" / name
    one = logged_losses(run, run["args"], shards, out / "seed0", steps)[loss]
    seeds = [
        logged_losses(run, [*run["args"], "--seed", str(seed)], shards, out / f"seed{seed}", steps)[loss]
        for seed in (1, 2)
    ]
    half = with_batch(run["args"], run["batch"] // 2)
    two = logged_losses(run, half, shards, out / "two_processes", steps, processes=2)[loss]
    curves = [one, *seeds]
    pairs = [curve_difference(a, b) for i, a in enumerate(curves) for b in curves[i + 1 :]]
    seed_noise = sum(pairs) / len(pairs)
    processes = curve_difference(one, two)
    return {
        "batch": f"1 x {run['batch']} against 2 x {run['batch'] // 2}",
        "loss": loss,
        "seed_difference": round(seed_noise, 6),
        "seed_pair_differences": [round(pair, 6) for pair in pairs],
        "processes_difference": round(processes, 6),
        "ratio": round(processes / max(seed_noise, 1e-12), 3),
        "last_losses": {
            "one_process": round(mean_of_last(one), 6),
            "seeds_1_2": [round(mean_of_last(other), 6) for other in seeds],
            "two_processes": round(mean_of_last(two), 6),
        },
    }


DATASET_HOURS = {"LRS2": 29, "VoxCeleb2": 2442}  # their papers
NODE_PROCESSES = 32  # a 32-core CPU node, one process a core (as the preprocessing plan assumes)
FPS = 25
DRAWS = 4  # --stream_draws' default: samples a clip gives a pass per span of frames one sample covers


def mean_clip_seconds(shards: Path) -> float:
    """The mean duration of the training split's clips (what one syncer sample, a whole clip, covers)."""
    from talkhead.data.streaming import SplitStream, source_frames

    _, frames = source_frames(SplitStream(shards, "train", ("source", "face_found")).rows())
    return sum(frames) / len(frames) / FPS


def pass_hours(span: int | None, samples_per_second: float, clip_seconds: float) -> dict:
    """Hours one pass (``DRAWS`` samples per span of frames) over each dataset takes on one node and on 16."""
    per_video_hour = DRAWS * 3600 / clip_seconds if span is None else DRAWS * 3600 * FPS / span
    hours = {}
    for name, video_hours in DATASET_HOURS.items():
        node_seconds = video_hours * per_video_hour / (samples_per_second * NODE_PROCESSES)
        hours[name] = {"one_node": round(node_seconds / 3600, 2), "16_nodes": round(node_seconds / 3600 / 16, 3)}
    return {"samples_per_video_hour": round(per_video_hour), "hours": hours}


def table(report: dict) -> str:
    lines = [
        "| script | steps | samples/s per process | peak MiB x1 | peak MiB x16 | x16 / x1 | loss | fp32 | bf16 "
        "| bf16 diff |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in report["scripts"].items():
        lines.append(
            f"| {name} | {row['steps']} | {row['samples_per_second']} | {row['peak_rss_mib']['x1']} | "
            f"{row['peak_rss_mib']['x16']} | "
            f"{row['memory_ratio']:.3f} | {row['loss']} | {row['fp32_loss']:.4f} | {row['bf16_loss']:.4f} | "
            f"{100 * row['bf16_relative_difference']:.3f} % |"
        )
    lines += [
        "",
        f"A pass = {DRAWS} samples per span of frames a sample covers (`--stream_draws`); a node = {NODE_PROCESSES} "
        "processes of this speed; LRS2 29 h, VoxCeleb2 2,442 h (their papers).",
        "",
        "| script | samples per video-hour | LRS2, one node | VoxCeleb2, one node | VoxCeleb2, 16 nodes |",
        "|---|---|---|---|---|",
    ]
    for name, row in report["scripts"].items():
        plan = row.get("pass")
        if plan:
            lines.append(
                f"| {name} | {plan['samples_per_video_hour']:,} | {plan['hours']['LRS2']['one_node']:.2f} h | "
                f"{plan['hours']['VoxCeleb2']['one_node']:.1f} h | {plan['hours']['VoxCeleb2']['16_nodes']:.2f} h |"
            )
    compared = report.get("processes", {})
    if compared:
        lines += [
            "",
            "| script | batches | loss | 2 processes vs 1: mean abs difference | seed pairs (mean; range) "
            "| ratio to mean | within the seeds' range |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, row in compared.items():
            lines.append(
                f"| {name} | {row['batch']} | {row['loss']} | {row['processes_difference']:.4f} | "
                f"{row['seed_difference']:.4f} ({min(row['seed_pair_differences']):.4f}-"
                f"{max(row['seed_pair_differences']):.4f}) | {row['ratio']:.2f} | "
                f"{'yes' if row['processes_difference'] <= max(row['seed_pair_differences']) else 'no'} |"
            )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shards", required=True, type=Path, help="a sharded dataset with --faces --mouths")
    parser.add_argument("--work", required=True, type=Path, help="a folder for the runs")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--scripts", default=None, help="comma-separated subset (default: all seven)")
    parser.add_argument(
        "--processes", action="store_true", help="compare two processes with one and two seeds (not speed and memory)"
    )
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
    kept = json.loads(path.read_text()) if path.exists() else {}  # a subset run keeps the others' rows
    report = {"machine": machine(), "shards": str(args.shards)}
    report |= {"scripts": dict(kept.get("scripts", {})), "processes": dict(kept.get("processes", {}))}
    clip_seconds = mean_clip_seconds(args.shards)
    for name in wanted:
        print(f"{name} ...", flush=True)
        if args.processes:
            report["processes"][name] = compare_processes(name, runs[name], args.shards, args.work, args.steps)
        else:
            report["scripts"][name] = measure(name, runs[name], args.shards, bigger, args.work, args.steps)
        for row_name, row in report["scripts"].items():
            row["pass"] = pass_hours(runs[row_name]["span"], row["samples_per_second"], clip_seconds)
        write_json("training_scale", report)  # after each script: a long run keeps what it measured
    print(table(report))
    update_results_section("training_scale", f"{INTRODUCTION}\n\n{table(report)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
