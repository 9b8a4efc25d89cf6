"""Speed of the stabilized-sync face generator on this CPU, against its speed target.

    python benchmarks/stable_sync_speed.py [--model stable-sync-face] [--repeats 5] [--threads 2]

Frames generated per second at batch 16 and 128 (96x96 faces, float32, no gradients), medians of
``--repeats`` runs after a warm-up, for the shipped checkpoint and the paper-size configuration
(random weights: speed does not depend on them), each beside its parameter count. The timed part is
one ``StableSyncFaceGenerator`` forward: identity and pose encoders, the audio tower, fusion and the
U-Net decoder. Target: at least twice the 15 to 18 frames/s that a 36 M-parameter Wav2Lip generator
reaches on this machine, i.e. 36 frames/s. Writes benchmarks/results/stable_sync_speed.json and the
"stable_sync_speed" section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys

import torch
from common import machine, median_time, update_results_section, write_json

WAV2LIP_FPS = (15, 18)  # a 36 M-parameter Wav2Lip generator measured on this machine (96x96, fp32), not by this script


def measure(generator, batch: int, repeats: int) -> dict:
    generator_rng = torch.Generator().manual_seed(0)
    faces = torch.rand(batch, 3, 96, 96, generator=generator_rng)
    pose = faces.clone()
    pose[..., 48:, :] = 0
    mel = torch.randn(batch, 1, 80, 16, generator=generator_rng)
    generator(faces, pose, mel)  # warm-up
    seconds, runs = median_time(lambda: generator(faces, pose, mel), repeats)
    return {"batch": batch, "frames_per_second": round(batch / seconds, 1), "runs_seconds": [round(r, 4) for r in runs]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="stable-sync-face")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (2: every core of this machine)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)

    from talkhead.hub import checkpoint_path, load_pretrained
    from talkhead.models.stable_sync import StableSyncFaceGenerator, StableSyncFaceGeneratorConfig

    models = {
        f"{args.model} (shipped)": load_pretrained(StableSyncFaceGenerator, args.model).eval(),
        "paper-size config": StableSyncFaceGenerator(StableSyncFaceGeneratorConfig()).eval(),
    }
    results = {"machine": machine(), "threads": args.threads, "model": checkpoint_path(args.model), "rows": []}
    for name, generator in models.items():
        parameters = sum(p.numel() for p in generator.parameters())
        for batch in (16, 128):
            row = {"model": name, "parameters": parameters, **measure(generator, batch, args.repeats)}
            results["rows"].append(row)
            print(row, flush=True)
    write_json("stable_sync_speed", results)
    target = 2 * WAV2LIP_FPS[1]
    lines = [
        "### Stabilized-sync face generator speed",
        "",
        f"Measured {results['machine']['date']} with `python benchmarks/stable_sync_speed.py --threads {args.threads}` "
        "on this CPU: one generator forward (both encoders, the audio tower, the U-Net decoder) on 96x96 faces, "
        f"float32, medians of {args.repeats} runs after a warm-up. Target: {target} frames/s, twice the "
        f"{WAV2LIP_FPS[0]} to {WAV2LIP_FPS[1]} frames/s of a 36 M-parameter Wav2Lip generator here.",
        "",
        "| model | parameters | batch | frames/s | vs. Wav2Lip's 15-18 frames/s |",
        "|---|---|---|---|---|",
    ]
    for row in results["rows"]:
        fps = row["frames_per_second"]
        lines.append(
            f"| {row['model']} | {row['parameters'] / 1e6:.2f} M | {row['batch']} | {fps:,.1f} | "
            f"{fps / WAV2LIP_FPS[1]:.1f}x to {fps / WAV2LIP_FPS[0]:.1f}x |"
        )
    shipped = [r["frames_per_second"] for r in results["rows"] if "shipped" in r["model"]]
    lines += [
        "",
        f"Target {target} frames/s for the shipped generator: {'met' if min(shipped) >= target else 'missed'} "
        f"(slowest batch {min(shipped):,.1f} frames/s).",
    ]
    text = "\n".join(lines)
    update_results_section("stable_sync_speed", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
