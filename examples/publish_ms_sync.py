#!/usr/bin/env python
"""Publish a trained MS-Sync generator into hub_configs/ with its model card.

    python examples/publish_ms_sync.py export --run runs/ms-sync-short --name ms-sync-short
    talkhead benchmark ms-sync --data DATASET --split test --json benchmarks/results/ms_sync_benchmark.json
    python benchmarks/ms_sync_speed.py
    python examples/publish_ms_sync.py card --run runs/ms-sync-short --name ms-sync-short \
        --benchmark benchmarks/results/ms_sync_benchmark.json --speed benchmarks/results/ms_sync_speed.json

``export`` writes config.json + model.safetensors (fp16 storage, fp32 use); ``card`` writes README.md
from the run's training_args.json / training_summary.json and the measured benchmark and speed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HUB = Path(__file__).resolve().parents[1] / "hub_configs"
LEVELS = (1, 2, 3, 4)


def export(run: Path, name: str, step: int | None = None) -> Path:
    """The run's selected generator, or with ``step`` the generator of that step's checkpoint (accelerate's
    model.safetensors)."""
    from safetensors.torch import load_file

    from talkhead.hub.model_export import export_checkpoint
    from talkhead.models.ms_sync import MSSyncGenerator
    from talkhead.training.checkpoints import checkpoint_at

    model = MSSyncGenerator.from_pretrained(run)
    if step is not None:
        model.load_state_dict(load_file(checkpoint_at(run, step) / "model.safetensors"))
        summary_path = run / "training_summary.json"
        summary = json.loads(summary_path.read_text())
        summary["exported_step"] = step
        summary_path.write_text(json.dumps(summary, indent=2))
    folder = export_checkpoint(model, HUB / name)
    print(f"exported {run} -> {folder} ({(folder / 'model.safetensors').stat().st_size / 1e6:.1f} MB)")
    return folder


def _recipe(run: Path) -> str:
    from talkhead.hub.model_card import markdown_table

    args = json.loads((run / "training_args.json").read_text())
    summary = json.loads((run / "training_summary.json").read_text())
    keys = (
        "generator_config",
        "discriminator_config",
        "sequence_length",
        "batch_size",
        "learning_rate_generator",
        "learning_rate_discriminator",
        "decay_after",
        "sync_levels",
        "sync_weight",
        "reconstruction_weight",
        "augment",
        "loss_syncers",
        "seed",
    )
    rows = [[key, args[key]] for key in keys if key in args]
    rows += [
        ["steps", summary["steps"]],
        ["wall time", f"{summary['wall_seconds'] / 60:.1f} min"],
        ["held-out sources (validation)", ", ".join(summary["held_out_sources"])],
        ["training clips / validation clips of 80 frames", f"{summary['train_clips']} / {summary['validation_clips']}"],
    ]
    return markdown_table(["setting", "value"], rows)


def _validation(run: Path) -> str:
    from talkhead.hub.model_card import markdown_table

    summary = json.loads((run / "training_summary.json").read_text())
    rows = []
    for label, scores in (
        ("ground truth", summary.get("ground_truth")),
        (f"generated (highest AV-Conf_1, step {summary['best']['step']})", summary.get("best")),
    ):
        if scores:
            rows.append(
                [label] + [f"{scores[f'av_off_{level}']:.2f} / {scores[f'av_conf_{level}']:.3f}" for level in LEVELS]
            )
    table = markdown_table(["validation clips (\\|AV-Off\\| / AV-Conf)"] + [f"level {level}" for level in LEVELS], rows)
    if summary.get("exported_step") is not None and summary["exported_step"] != summary["best"]["step"]:
        table += (
            f"\n\nThe published weights are those of step {summary['exported_step']}, not of the step with the "
            "highest validation AV-Conf_1: AV-Conf_1 differed between checkpoints by less than its spread "
            "(0.02 to 0.03), and the rendered validation samples (OUTPUT_DIR/samples) show the earlier "
            "generators drifting into a deformed face within 80 frames while the last one keeps its shape."
        )
    return table


def _speed(path: Path | None) -> str:
    from talkhead.hub.model_card import markdown_table

    if path is None or not path.exists():
        return "Not measured: run `python benchmarks/ms_sync_speed.py`."
    results = json.loads(path.read_text())
    rows = [
        [
            r["model"],
            r["batch"],
            "numba" if r["compiled"] else "PyTorch loop",
            f"{r['frames_per_second']:,.0f}",
            f"{r['real_time_factor']:,.1f}x",
        ]
        for r in results["rows"]
    ]
    return (
        f"`python benchmarks/ms_sync_speed.py` ({results['threads']} thread, {results['seconds_of_speech']:g} s "
        "of speech per stream, medians):\n\n"
        + markdown_table(["model", "streams", "rollout", "frames/s", "real time per stream"], rows)
    )


def _ablation_note(report: dict, name: str) -> str:
    others = [row for row in report["rows"] if row not in ("static", "ground_truth", name)]
    if not others:
        return ""
    return (
        f"\n\nOther rows ({', '.join(others)}) are the paper's ablations, trained with the same recipe, seed and "
        "steps and passed to the same command with more `--head-model` flags; they are not published "
        "(benchmarks/RESULTS.md)."
    )


def card(run: Path, name: str, benchmark: Path, speed: Path | None) -> Path:
    from talkhead.benchmarks.papers import markdown_table as benchmark_table
    from talkhead.hub.model_card import PIPELINE_TAGS, write_model_card
    from talkhead.models.ms_sync import MSSyncGenerator
    from talkhead.training.eval_results import EXAMPLE_DATASET, results_from_files

    model = MSSyncGenerator.from_pretrained(HUB / name)
    config = model.config
    report = json.loads(benchmark.read_text())
    params = sum(p.numel() for p in model.parameters())
    columns = [f"av_off_{level}" for level in LEVELS] + [f"av_conf_{level}" for level in LEVELS] + ["frechet"]
    sections = {
        "What it is": f"""\
The MS-Sync generator (Airale et al.): speech in, 68-landmark head and lip motion out, one frame at a
time. An LSTM over the embedded landmarks, a pyramid of audio features (four temporal resolutions), and
{config.num_branches} branches whose velocities are merged by a per-landmark soft mask; trained as a GAN against a frame
discriminator, sequence discriminators and a pair discriminator, plus the multi-scale sync loss of the frozen
`ms-sync-syncers` (weight 8). `small` preset, {params / 1e6:.2f} M parameters.

One departure from the paper, measured on this data: an L2 term between generated and real landmarks (in units of
the training set's landmark spread, weight 10; `--reconstruction_weight`). Without it, after 200 steps at these learning
rates the generator met the sync loss by jittering the mouth and the face fell apart within 40 frames, while
|AV-Off_1| on validation looked excellent (0.9): the syncers can be fooled, and a few hundred steps do not give the
discriminators time to object.

```python
from talkhead.pipelines import SpeechToLandmarks
motion = SpeechToLandmarks("{name}")("face.jpg", "speech.wav")   # (T, 68, 2) at 25 fps
motion.save("landmarks.npz")
```

or `talkhead landmarks --image face.jpg --audio speech.wav -o landmarks.npz --preview preview.mp4`.""",
        "Training recipe": _recipe(run) + "\n\nHardware: x86_64 CPU, 2 cores, no GPU. Command: `accelerate launch "
        "examples/train_ms_sync.py --dataset DATASET --output_dir RUN` with the settings above. The paper trains for "
        "75,000 steps at learning rates 2e-5 / 1e-5 with batches of 50; we had a CPU for a few hundred steps, so the "
        "learning rates are 5x higher and the batch smaller.",
        "Validation during training (held-out sources, generated from each clip's first frame)": _validation(run),
        "Measured on the held-out test split": f"""\
`talkhead benchmark ms-sync --data DATASET --split test --head-model {name}`
(MS-Sync Table 3 protocol): {report["clips"]} clips of {report["clip_frames"]} frames from sources never seen in
training, scored by the evaluation syncers (`ms-sync-eval-syncers`), offsets over overlapping windows. `frechet` is
the landmark Fréchet distance to ground truth in the evaluation syncers' feature space (mean over levels).

{benchmark_table(report, columns)}"""
        + _ablation_note(report, name),
        "Speed": _speed(speed),
        "Limits": """Trained for a few hundred steps on 31 clips (about 7 minutes) of about 40 speakers: a small
model that shows the method runs end to end, not one that matches the paper. The evaluation syncers themselves are
weak on new speakers (see hub_configs/ms-sync-eval-syncers), so the AV scores above carry wide error bars.
Landmarks are dlib's 68 points in the unit square of the face crop; head motion is learned from these few clips.""",
    }
    tag = PIPELINE_TAGS[config.model_type]
    return write_model_card(
        HUB / name,
        datasets=[EXAMPLE_DATASET],
        title=f"MS-Sync generator, {name} (small, research only)",
        pipeline_tag=tag,
        eval_results=results_from_files(name, tag, [benchmark]),
        summary="Speech-driven 68-landmark head and lip motion (MS-Sync), trained with talkhead on "
        "11 minutes of public example clips.",
        sections=sections,
        tags=["talking-head", "landmarks", "audio-visual", "ms-sync", "gan"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["export", "card"])
    parser.add_argument("--run", required=True, type=Path)
    parser.add_argument("--name", required=True)
    parser.add_argument("--benchmark", type=Path)
    parser.add_argument("--speed", type=Path)
    parser.add_argument(
        "--step", type=int, help="export the checkpoint of this step instead of the run's selected generator"
    )
    args = parser.parse_args()
    if args.action == "export":
        export(args.run, args.name, args.step)
    elif args.benchmark is None:
        parser.error("card needs --benchmark")
    else:
        print(card(args.run, args.name, args.benchmark, args.speed))


if __name__ == "__main__":
    main()
