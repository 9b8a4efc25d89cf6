#!/usr/bin/env python
"""Publish the stabilized-sync face stack into hub_configs/ with model cards.

    python examples/publish_stable_sync.py export --run runs/avsyncnet-small --name avsyncnet-small
    python examples/publish_stable_sync.py card --run runs/avsyncnet-small --name avsyncnet-small --data DATASET
    python examples/publish_stable_sync.py card --run runs/stable-sync-face --name stable-sync-face \
        --benchmark benchmarks/results/lipsync_benchmark.json --speed benchmarks/results/stable_sync_speed.json

``export`` writes config.json + model.safetensors (fp16 storage, fp32 use) of any talkhead model.
``card`` writes README.md from the run's training_args.json / training_summary.json and, for the sync
experts, their offset accuracy on the ``--data`` test split (sources never seen in training); for the
generators, the Table 1 benchmark and speed JSON files.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HUB = Path(__file__).resolve().parents[1] / "hub_configs"
HARDWARE = "Hardware: x86_64 CPU, 2 cores, no GPU."

# The card section "At the paper's size", by model type: presets are not shipped as folders (from_preset gives
# them), so each trained model's card carries the recipe of its paper-size configuration.
PAPER_SIZE = {
    "avsyncnet": r"""
The paper's AVSyncNet (Yaman et al., stabilized sync, §3.4: a ResNet-50 image tower on 15x112x224 lower halves, the
96-px faces upsampled to 224, and a ResNetSE-34 audio tower, 512-d embeddings) is the `paper` preset,
`AVSyncNetConfig.from_preset("paper")`. No weights of that size are published: 11 minutes of video cannot train it.
On LRS2 (the paper's data) or any talking-face set built with `--faces`:

```bash
talkhead preprocess /data/lrs2/main --output data/lrs2 --faces --test-sources ID1,ID2 --num-proc 16
accelerate launch examples/train_avsyncnet.py --dataset data/lrs2 --output_dir runs/avsyncnet \
    --model_config paper --imagenet_resnet50 resnet50.pth \
    --objective bce --batch_size 64 --learning_rate 1e-4 --max_steps 300000
```

BCE on aligned against non-overlapping windows, Adam (0.5, 0.999) and lr 1e-4 are the paper's (§3.4-3.5); batch 64
(Wav2Lip's SyncNet batch), 3x10^5 steps, the upsampling to 224 and the ImageNet start (`resnet50.pth`, a torchvision
ResNet-50 state dict you supply) are ours, where the paper is silent. BCE needs LRS2-scale data: on our 11 minutes
it stayed at chance on held-out sources. The result is the `--avsyncnet` of the paper-size generators
(`stable-sync-face`'s card, "At the paper's size").""",
    "syncnet_expert": r"""
Wav2Lip's expert at full width is the `paper` preset, `SyncNetExpertConfig.from_preset("paper")`
(`width_multiplier` 1.0; this model is 0.25). No weights of that size are published. The papers' recipe (Wav2Lip,
color_syncnet_train.py and hparams.py: BCE on aligned against other windows of the same video, lr 1e-4, batch 64), on
LRS2 or any talking-face set built with `--faces`:

```bash
talkhead preprocess /data/lrs2/main --output data/lrs2 --faces --test-sources ID1,ID2 --num-proc 16
accelerate launch examples/train_avsyncnet.py --architecture syncnet --dataset data/lrs2 \
    --output_dir runs/syncnet-eval --model_config paper --objective bce --batch_size 64 --learning_rate 1e-4
```

No pretrained weights are needed; without `--max_steps` the script trains 300,000 steps. Score generators with it by
`talkhead benchmark lip-sync --sync-expert-model runs/syncnet-eval`; an evaluation expert must not be trained on the
clips it will score. Its scores are still not LSE-C / LSE-D, which come from SyncNet v2 (`talkhead evaluate video
--syncnet-v2-model DIR`, with the weights converted by `python -m talkhead.models.syncnet_v2.convert_syncnet_v2`).""",
    "stable_sync_face_generator": r"""
G_S and G_L at the paper's widths (Yaman et al., stabilized sync, §3.1-3.3; `width_multiplier` 1.0, 70.01 M
parameters with a paper-size AVSyncNet's audio tower) are the `paper` preset,
`StableSyncFaceGeneratorConfig.from_preset("paper")`; the script takes the audio tower's configuration from
`--avsyncnet`. No weights of that size are published. On LRS2 (the paper's data) or any set built with `--faces`:

```bash
accelerate launch examples/train_stable_sync.py --stage silent-lip --dataset data/lrs2 --avsyncnet runs/avsyncnet \
    --generator_config paper --discriminator_config paper --vgg19 vgg19.pth --batch_size 16 \
    --output_dir runs/silent-lip
accelerate launch examples/train_stable_sync.py --stage talking-face --dataset data/lrs2 --avsyncnet runs/avsyncnet \
    --silent_lip runs/silent-lip --generator_config paper --discriminator_config paper --vgg19 vgg19.pth \
    --batch_size 16 --output_dir runs/face
```

`runs/avsyncnet` is a paper-size AVSyncNet trained first (`avsyncnet-small`'s card, "At the paper's size", which
also builds `data/lrs2`); `vgg19.pth` is a torchvision ImageNet VGG-19 state dict you supply, for the perceptual and
adaptive triplet losses (eq. 1-2). The script's defaults are the paper's loss weights (eq. 5) and learning rate (1e-4,
Adam (0.5, 0.999), §3.5); batch 16 (Wav2Lip's) and 200,000 steps per stage are ours. G_L starts from scratch, as in
the paper (add `--init_generator runs/silent-lip` for our warm start). Score the pair with `talkhead benchmark
lip-sync --data data/lrs2 --split test --face-generator-model runs/face --silent-lip-model runs/silent-lip`.""",
}


def export(run: Path, name: str) -> Path:
    from transformers import AutoModel

    import talkhead.models  # noqa: F401  (registers the Auto classes)
    from talkhead.hub.model_export import export_checkpoint

    folder = export_checkpoint(AutoModel.from_pretrained(run), HUB / name)
    print(f"exported {run} -> {folder} ({(folder / 'model.safetensors').stat().st_size / 1e6:.1f} MB)")
    return folder


def _recipe(run: Path, keys: tuple[str, ...]) -> str:
    from talkhead.hub.model_card import markdown_table

    args = json.loads((run / "training_args.json").read_text())
    summary = json.loads((run / "training_summary.json").read_text())

    def shown(value):  # checkpoints by name, not by the path they had on the training machine
        return Path(value).name if isinstance(value, str) and "/" in value else value

    rows = [[key, shown(args[key])] for key in keys if args.get(key) is not None]
    rows += [
        ["steps", summary["steps"]],
        ["wall time", f"{summary['wall_seconds'] / 60:.1f} min"],
        ["held-out sources (validation)", ", ".join(summary["held_out_sources"])],
        ["training clips / validation clips", f"{summary['train_clips']} / {summary['validation_clips']}"],
    ]
    if summary.get("stopped_by_hand"):
        rows.append(["stopped", "by hand (no final save); summary rebuilt from the log and a re-run of the validation"])
    return markdown_table(["setting", "value"], rows)


def test_offset_accuracy(
    model, data: str, split: str = "test", samples: int = 256, windows: int = 8, stride: int = 2
) -> dict:
    """The training validation's offset accuracy, on ``split`` of ``data``."""
    import torch

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from train_avsyncnet import validate

    from talkhead.data.clips import iter_clips, load_dataset_dict
    from talkhead.data.face_windows import OffsetWindowDataset

    clips = list(iter_clips(load_dataset_dict(data)[split]))
    dataset = OffsetWindowDataset(clips, windows, stride, samples_per_epoch=samples, seed=4321)
    return {
        "clips": len(dataset.clips),
        "samples": samples,
        "windows": windows,
        "stride": stride,
        **validate(model, list(torch.utils.data.DataLoader(dataset, batch_size=16))),
    }


def expert_card(run: Path, name: str, data: str | None) -> Path:
    from transformers import AutoModel

    import talkhead.models  # noqa: F401
    from talkhead.hub.model_card import (
        PIPELINE_TAGS,
        markdown_table,
        write_model_card,
    )
    from talkhead.training.eval_results import EXAMPLE_DATASET

    model = AutoModel.from_pretrained(HUB / name).eval()
    params = sum(p.numel() for p in model.parameters())
    architecture = model.config.model_type.replace("_expert", "")
    summary = json.loads((run / "training_summary.json").read_text())
    best = summary["best"]
    evaluation = f"""Offset accuracy: a sample is {summary.get("offset_windows", 8)} windows of one clip
{summary.get("offset_stride", 2)} frames (80 ms) apart; each window's 5 faces must score their own 200 ms of audio
highest of the {summary.get("offset_windows", 8)} (chance {1 / summary.get("offset_windows", 8):.3f}).

""" + markdown_table(
        ["split", "offset accuracy", "cosine, aligned", "cosine, shifted"],
        [
            [
                f"validation (held-out sources, step {best['step']})",
                f"{best['offset_accuracy']:.3f}",
                f"{best['aligned_cosine']:.3f}",
                f"{best['shifted_cosine']:.3f}",
            ]
        ],
    )
    if data:
        test = test_offset_accuracy(model, data)
        evaluation += (
            f"\n| test ({test['clips']} clips of 3 unseen sources, {test['samples']} samples) | "
            f"{test['offset_accuracy']:.3f} | {test['aligned_cosine']:.3f} | {test['shifted_cosine']:.3f} |"
        )
    if model.config.model_type == "avsyncnet":
        title, what = (
            f"AVSyncNet, {name} (small, research only)",
            f"""AVSyncNet (Yaman et al., stabilized sync, ECCV, §3.4) in our
`small` configuration: a ResNet image tower on the lower halves of 5 stacked 96x96 faces (no upsampling to 224) and
a ResNetSE audio tower with self-attentive pooling on a 16-frame log-mel window (200 ms); AVSIM is the cosine of the
ReLU'd embeddings. {params / 1e6:.2f} M parameters. Its frozen audio tower is the audio encoder of
`stable-sync-silent-lip` and `stable-sync-face`, and its AVSIM drives their stabilized sync loss.

```python
from talkhead.models.avsyncnet import AVSyncNet
model = AVSyncNet.from_pretrained("talkhead/{name}")
scores = model(faces, mel).scores   # faces (N, 5, 3, 96, 96) in [0, 1], mel (N, 1, 80, 16)
```""",
        )
    else:
        title, what = (
            f"SyncNet evaluation expert, {name} (small, research only)",
            f"""The Wav2Lip-style SyncNet
expert (Wav2Lip, models/syncnet.py) with widths x{model.config.width_multiplier}: conv-BN-ReLU towers on the lower
halves of 5 faces and a mel window, cosine of L2-normalised embeddings. {params / 1e6:.2f} M parameters. It is our
**evaluation** expert: `talkhead benchmark lip-sync` scores sync offset, confidence and distance with it, and no
published generator trains against it.

```python
from talkhead.metrics.face_sync import face_sync
from talkhead.models.syncnet_expert import SyncNetExpert
expert = SyncNetExpert.from_pretrained("talkhead/{name}")
result = face_sync(expert, faces, mel)     # faces (T, 3, 96, 96), the clip's mel (M, 80)
print(result.offset, result.confidence, result.min_distance)
```""",
        )
    sections = {
        "What it is": what,
        "Training recipe": _recipe(
            run,
            (
                "architecture",
                "model_config",
                "objective",
                "offset_windows",
                "offset_stride",
                "temperature",
                "mouth_shape_weight",
                "augment",
                "batch_size",
                "learning_rate",
                "seed",
            ),
        )
        + f"""

{HARDWARE} `accelerate launch examples/train_avsyncnet.py --architecture {architecture}
--dataset DATASET --output_dir RUN` with the settings above; the weights are those of the step with the best
validation offset accuracy. Two departures from the papers' BCE recipe, both ours: the multi-way offset objective
(Chung et al., "Perfect match", 2019), where each face window picks its own audio among windows of the same clip, and
an auxiliary regression of the dlib mouth shape from both embeddings (the heads are dropped). With BCE alone, a
2000-step trial of AVSyncNet-small stayed at chance on held-out sources (validation BCE 0.70 to 0.79).""",
        "Evaluation": evaluation,
        "Limits": """Trained for well under an hour of CPU time on 31 clips (about 7 minutes of video, about 40
speakers). Its judgements on new speakers are weak: read the offset accuracy above before trusting a score, and
prefer comparisons between systems on the same clips over absolute values.""",
        "At the paper's size": PAPER_SIZE[model.config.model_type],
    }
    # No model-index here: the test offset accuracy above is measured by this script, not read from a benchmark JSON.
    return write_model_card(
        HUB / name,
        datasets=[EXAMPLE_DATASET],
        title=title,
        misuse=None,
        pipeline_tag=PIPELINE_TAGS[model.config.model_type],
        summary="An audio-visual sync expert on 96x96 face crops, trained with talkhead on 11 minutes "
        "of public example clips.",
        sections=sections,
        tags=["lip-sync", "audio-visual", "syncnet", "sync-expert"],
    )


def generator_card(run: Path, name: str, benchmark: Path | None, speed: Path | None, notes: Path | None = None) -> Path:
    from talkhead.benchmarks.papers import markdown_table as benchmark_table
    from talkhead.hub.model_card import (
        PIPELINE_TAGS,
        markdown_table,
        write_model_card,
    )
    from talkhead.models.stable_sync import StableSyncFaceGenerator
    from talkhead.training.eval_results import EXAMPLE_DATASET, results_from_files

    model = StableSyncFaceGenerator.from_pretrained(HUB / name)
    params = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for n, p in model.named_parameters() if not n.startswith("audio_encoder."))
    summary = json.loads((run / "training_summary.json").read_text())
    args = json.loads((run / "training_args.json").read_text())
    silent = summary["stage"] == "silent-lip"
    best = summary["best"]
    sections = {
        "What it is": f"""{"G_S, the silent-lip generator" if silent else "G_L, the talking-face generator"} of the
stabilized-sync paper (Yaman et al., ECCV, §3.1-3.3), `small` preset (widths x{model.config.width_multiplier}):
identity and pose encoders on 96x96 faces, 1x1 fusion with the frozen audio tower of the AVSyncNet it trained \
with (`avsyncnet-small`),
and a U-Net decoder. {params / 1e6:.2f} M parameters, {trainable / 1e6:.2f} M of them trained (the rest is the frozen
audio tower). """
        + (
            """It is trained as a plain reconstruction GAN; at G_L's training and inference time it is run
with the mel of silence to close the identity references' lips."""
            if silent
            else f"""Inputs: the target frame with its
lower half masked (pose), an identity frame closed-lipped by `stable-sync-silent-lip`, and the mel window centred
on the frame.

```python
from talkhead.models.stable_sync import StableSyncFaceGenerator, mask_lower_half
generator = StableSyncFaceGenerator.from_pretrained("talkhead/{name}")
faces = generator(identity, mask_lower_half(target), mel).images   # (N, 3, 96, 96) each, mel (N, 1, 80, 16)
```"""
        ),
        "Training recipe": _recipe(
            run,
            ("stage",)
            + (() if silent else ("sync_loss", "init_generator"))
            + ("generator_config", "discriminator_config", "pixel_weight", "gan_weight")
            + (() if silent else ("sync_weight", "triplet_weight"))
            + ("batch_size", "learning_rate", "seed"),
        )
        + f"""

{HARDWARE} `accelerate launch examples/train_stable_sync.py --stage {summary["stage"]} --dataset DATASET
--output_dir RUN` with the settings above; the weights are those of the step with the best validation SSIM.
No VGG-19 weights could be downloaded here, so the perceptual term is off (weight 0) and the adaptive triplet loss
uses the frozen AVSyncNet image embedding of each 5-frame window instead of VGG-19 relu5_1 features; pass
`--vgg19 FILE` (a torchvision VGG-19 state dict) to train as the paper does.""",
        "Validation during training (held-out sources)": markdown_table(
            ["step", "SSIM", "PSNR (dB)", "AVSIM (avsyncnet-small)"],
            [[best["step"], f"{best['ssim']:.3f}", f"{best['psnr']:.2f}", f"{best['avsim']:.3f}"]],
        ),
    }
    if benchmark is not None and benchmark.exists():
        report = json.loads(benchmark.read_text())
        sections["Measured on the held-out test split"] = f"""`talkhead benchmark lip-sync --data DATASET --split test
--face-generator-model hub_configs/{name}` (the paper's Table 1 protocol): {report["chunks"]} chunks of
{report["chunk_frames"]} frames from sources never seen in training; sync columns from `syncnet-eval`, which no
generator trained against. Targets: SSIM at least 0.90, PSNR at least 29 dB, sync confidence at least ground truth's;
silence closes the mouth (`silence_closed` above 0.5).

{benchmark_table(report)}"""
    if speed is not None and speed.exists():
        results = json.loads(speed.read_text())
        rows = [
            [r["model"], f"{r['parameters'] / 1e6:.2f} M", r["batch"], f"{r['frames_per_second']:,.1f}"]
            for r in results["rows"]
        ]
        sections["Speed"] = (
            f"`python benchmarks/stable_sync_speed.py` ({results['threads']} threads, 96x96, float32, "
            "medians; target 36 frames/s, twice a 36 M-parameter Wav2Lip generator's 15-18 here):\n\n"
            + markdown_table(["model", "parameters", "batch", "frames/s"], rows)
        )
    if notes is not None:
        sections["Reading these numbers"] = notes.read_text()
    sections["Limits"] = """Trained for minutes of CPU time on 31 clips (about 7 minutes of video): it reconstructs
the upper face it is given and draws a plausible mouth, but it is a small model that shows the method runs end to
end, not one that matches the paper's LRS2 numbers."""
    if not silent:  # one recipe trains both stages; it goes on G_L's card
        sections["At the paper's size"] = PAPER_SIZE[model.config.model_type]
    tag = PIPELINE_TAGS[model.config.model_type]
    # Lineage: G_L starts from G_S (--init_generator); G_S carries the frozen audio tower of --avsyncnet.
    base = args.get("init_generator") or args.get("avsyncnet")
    return write_model_card(
        HUB / name,
        datasets=[EXAMPLE_DATASET],
        title=f"Stabilized-sync face generator, {name} (small, research only)",
        pipeline_tag=tag,
        base_model=Path(base).name if base else None,
        eval_results=results_from_files(name, tag, [benchmark]),
        summary="A 96x96 lip-sync face generator (stabilized sync loss), trained with talkhead on 11 "
        "minutes of public example clips.",
        sections=sections,
        tags=["talking-head", "lip-sync", "audio-visual", "stable-sync", "gan"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["export", "card"])
    parser.add_argument("--run", required=True, type=Path)
    parser.add_argument("--name", required=True)
    parser.add_argument("--data", help="dataset with a test split (expert cards)")
    parser.add_argument("--benchmark", type=Path, help="`talkhead benchmark lipsync` JSON (generator cards)")
    parser.add_argument("--speed", type=Path, help="benchmarks/results/stable_sync_speed.json (generator cards)")
    parser.add_argument(
        "--notes", type=Path, help="Markdown read into the card as 'Reading these numbers' (generator cards)"
    )
    args = parser.parse_args()
    if args.action == "export":
        export(args.run, args.name)
        return
    model_type = json.loads((HUB / args.name / "config.json").read_text())["model_type"]
    if model_type in ("avsyncnet", "syncnet_expert"):
        print(expert_card(args.run, args.name, args.data))
    else:
        print(generator_card(args.run, args.name, args.benchmark, args.speed, args.notes))


if __name__ == "__main__":
    main()
