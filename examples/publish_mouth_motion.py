#!/usr/bin/env python
"""Publish a trained mouth-motion model into hub_configs/ with its model card.

    python examples/publish_mouth_motion.py export --run runs/mouth-motion-final --name mouth-motion
    talkhead benchmark lip-follow --data DATASET --split test --mouth-model mouth-motion \
        --json benchmarks/results/lip_follow.json
    talkhead benchmark mouth --data DATASET --split test --json benchmarks/results/mouth.json
    python examples/publish_mouth_motion.py card --run runs/mouth-motion-final --validation-run runs/mouth-motion-val \
        --name mouth-motion --lip-follow benchmarks/results/lip_follow.json --mouth benchmarks/results/mouth.json

``export`` writes config.json + model.safetensors (fp16 storage, fp32 use); ``card`` writes README.md from
the runs' arguments and summaries and the benchmarks' measured numbers; ``live-card`` the card of a streamable model
(``--look_ahead``), with ``talkhead benchmark live``'s numbers:

    python examples/publish_mouth_motion.py live-card --run runs/live-final --validation-run runs/live-val \
        --name mouth-motion-live --lip-follow benchmarks/results/lip_follow_live_model.json \
        --live benchmarks/results/live.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HUB = Path(__file__).resolve().parents[1] / "hub_configs"
PHONE_DECODERS = {
    "allphone": "a phone loop under its bundled phone language model, about 20 times faster than real time",
    "words": "the phones of the words its bundled English model and dictionary recognise, aligned to the audio, "
    "about 4 times faster than real time on one core",
    "live": "the phone loop run as a stream, as a live avatar hears it (pocketsphinx's live mode: a running "
    "cepstral mean)",
}


def export(run: Path, name: str) -> Path:
    from talkhead.hub.model_export import export_run
    from talkhead.models.mouth_motion import MouthMotionModel

    return export_run(MouthMotionModel, run, HUB / name)


def _command(run: Path) -> str:
    from talkhead.hub.model_export import recipe_command

    return recipe_command(run, "train_mouth_motion.py")


def _clip_range(follow: dict, name: str) -> str:
    scores = [v for v in follow["per_clip"][f"model:{name}"].values() if v == v]  # NaN: a clip it could not score
    return f"{min(scores):.2f} to {max(scores):.2f}"


def _pipeline_rows(follow: dict) -> str:
    rows = follow["rows"]
    return ", ".join(
        f"{row} {rows[row]['lip_follow']['mean']:.3f} (std ratio {rows[row]['std_ratio']['mean']:.2f})"
        for row in ("own", "cross", "photo")
        if row in rows
    )


def _language_limits(report: dict | None) -> str:
    """The card's word to a user whose speech is not English, from benchmarks/non_english.py's JSON."""
    text = (
        "- **Speech that is not English.** The phones come from pocketsphinx's US English recogniser, which hears "
        "every language as English words. `--language auto` (the default) takes its words only where its own "
        "confidence says it understood, and the phone loop (English phones, no words) elsewhere; `--language en` "
        "always takes the words; any other code (`fr`, `de`, `zh`, ...) the phone loop alone. Expect the mouth to "
        "open and close with the syllables, but shapes that are the nearest English sounds' (French rounded front "
        "vowels become English ones)."
    )
    if not report:
        return text
    voices, clips = report["voices"], report["clips"]
    means = {way: sum(row[way] for row in clips.values()) / len(clips) for way in ("en", "phone_loop", "auto")}
    cells = "; ".join(
        f"{voice} {row['auto']['loudness']:.2f} with auto against {row['en']['loudness']:.2f} with en"
        for voice, row in voices.items()
        if voice != "en-us"
    )
    german = clips.get("German_20s")
    return text + (
        f" Measured (`benchmarks/non_english.py`): espeak-ng voices, the predicted opening against the speech's "
        f"loudness: {cells}. On the {len(clips)} real test clips, lip-follow {means['auto']:.3f} with auto, "
        f"{means['en']:.3f} with en, {means['phone_loop']:.3f} with the phone loop"
        + (f" (the German clip: {german['auto']:.3f} auto, {german['en']:.3f} en)" if german else "")
        + f". The recogniser's confidence does not separate languages cleanly (threshold "
        f"{report['min_word_confidence']}): two short English test clips fall back too, and English speech "
        f"loses little by it; pass `--language en` for English speech to always get its words."
    )


def card(
    run: Path, validation_run: Path, name: str, lip_follow: Path, mouth: Path, non_english: dict | None = None
) -> Path:
    from talkhead.benchmarks.lip_follow import lip_follow_table
    from talkhead.benchmarks.mouth import mouth_table
    from talkhead.hub.model_card import (
        PIPELINE_TAGS,
        markdown_table,
        write_model_card,
    )
    from talkhead.models.mouth_motion import MouthMotionConfig
    from talkhead.training.checkpoints import latest_trainer_state
    from talkhead.training.eval_results import EXAMPLE_DATASET, results_from_files

    config = MouthMotionConfig.from_pretrained(HUB / name)
    final, validation = (json.loads((r / "training_summary.json").read_text()) for r in (run, validation_run))
    curve = latest_trainer_state(validation_run)
    offsets = json.loads((run / "av_offsets.json").read_text())
    shifted = {clip: v["lag"] for clip, v in offsets.items() if v["lag"]}
    follow, quality = json.loads(lip_follow.read_text()), json.loads(mouth.read_text())
    validation_rows = [
        [step, f"{r['lip_follow']:.3f}", f"{r['std_ratio']:.2f}"] for step, r in curve["history"]["validation"]
    ]
    decoder = PHONE_DECODERS[config.phone_decoder]
    largest_shift = max(abs(v) for v in shifted.values()) if shifted else 0
    lipsync, real_shapes = quality["rows"]["lipsync"], quality["rows"]["renderer_real_shapes"]
    sections = {
        "What it is": f"""
Speech -> mouth shapes, one per video frame, for `talkhead lip-sync` (which then reuses the video's own mouths) and
`talkhead talking-head` (which warps the photo's mouth). Inputs per frame: the English phones pocketsphinx hears,
as soft one-hots of 40 phones ({decoder}), and the 80-band mel, mean-normalised per clip. A stack
of {config.num_blocks} dilated residual 1D convolutions ({config.hidden_size} channels, about
{config.receptive_frames} frames of context each side) predicts points 48-67 as a displacement from the speaker's
mean shape, in a head-fixed face frame (inter-ocular units). No autoregressive rollout, so nothing drifts.
Output gain {config.output_gain} (fitted on held-out speakers so predicted openings vary as much as real ones).

Not one of the three papers' models: the MS-Sync generator's mouth drifted open and moved half as much as real
ones on new speakers (lip-follow 0.12), and the paper's G_L painted an average mouth. This model
replaces both as the source of mouth motion; MS-Sync still moves the head in `talkhead talking-head`.

```python
from talkhead.models.mouth_motion import MouthMotionModel, mouth_audio_features
model = MouthMotionModel.from_pretrained("talkhead/{name}")
displacements = model.predict(mouth_audio_features(wave_16k, num_frames, fps, model.config))  # (T, 20, 2)
```""",
        "Training recipe": f"""
Final weights: `{_command(run)}` ({final["steps"]} steps, {final["wall_seconds"] / 60:.1f} min on one CPU core,
every clip of the dataset's train split, {final["train_clips"]} clips). The step count and the output gain come from
the same recipe run with `--validation_sources OpenTalker__video-retalking,smeetrs__deep_avsr`
(`{_command(validation_run)}`), whose held-out curve is below.

**Audio-video offsets.** The raw clips' sync is not verified, and it is off: the phone table (a no-learning
predictor) correlates best with the real mouth at a lag in {len(shifted)} of {len(offsets)} training clips, up to
{largest_shift} frames (the Obama clips 2 to 6). Training pairs each clip's sound with the mouth it caused
(`--align_offsets`, `talkhead.data.av_offsets`); without it held-out lip-follow stayed at 0.33 (RESULTS.md).
Offsets undone (frames, mouth after sound > 0): {json.dumps(shifted)}.

Validation curve (held-out lip-follow of the predicted inner-lip opening, std ratio predicted / real):

{markdown_table(["step", "lip-follow", "std ratio"], validation_rows)}

Best validation step {validation["best"]["step"]}: lip-follow {validation["best"]["lip_follow"]:.3f}; at the fitted gain
{validation["output_gain"]}: {validation["validation_at_gain"]["lip_follow"]:.3f}, std ratio
{validation["validation_at_gain"]["std_ratio"]:.2f}.""",
        "Measured on held-out speakers (test split)": f"""
`talkhead benchmark lip-follow --data DATASET --split test --mouth-model {name} --json lip_follow.json` on the
{len(follow["clips"])} test clips (SadTalker, MimicTalk, LatentSync sources, never trained on):

{lip_follow_table(follow)}

`model:{name}` is these weights' predicted opening (no rendering); `own`, `cross` and `photo` run `talkhead lip-sync`
and `talkhead talking-head` with them and re-track the output; other `model:` rows are the other models named in the
command (benchmarks/RESULTS.md, "Mouth motion from speech", says what each is, with the mel-only and phone-loop rows).

`talkhead benchmark mouth --data DATASET --split test --json mouth.json` ({len(quality["clips"])} clips, first
{quality["max_frames"]} frames each, each dubbed with its own speech; a frame may not reuse a mouth from within
{quality["exclude_within"]} frames of itself):

{mouth_table(quality)}""",
        "Limits": f"""
{_language_limits(non_english)}
- Trained on 11 minutes of 45 clips. Held-out lip-follow varies a lot by clip ({_clip_range(follow, name)} for the
  model on the test split; the ± above). The targets through the pipelines are lip-follow ≥ 0.50 for own, ≥ 0.45
  for cross and photo, and a std ratio of 0.8-1.25; measured, missed: {_pipeline_rows(follow)}.
- Mouth-box SSIM and PSNR of `lipsync` against the real frame (targets 0.75 and 26 dB): measured
  {lipsync["mouth_ssim"]:.3f} and {lipsync["mouth_psnr"]:.1f} dB; a predicted mouth
  differs from the one that was filmed, and the renderer fed the true shapes reaches
  {real_shapes["mouth_ssim"]:.3f} and {real_shapes["mouth_psnr"]:.1f} dB.
- The mouth shape is a displacement from the video's (or photo's) own mean/rest mouth, so an unusual mean (a
  video where the person mostly laughs) shifts every frame.""",
    }
    tag = PIPELINE_TAGS[config.model_type]
    return write_model_card(
        HUB / name,
        datasets=[EXAMPLE_DATASET],
        title=f"Mouth motion from speech, {name} (research only)",
        pipeline_tag=tag,
        eval_results=results_from_files(name, tag, [lip_follow, mouth]),
        summary="Phones and mel per video frame -> mouth shapes, trained with talkhead on 11 minutes "
        "of public example clips.",
        tags=["talking-head", "lip-sync", "audio-to-landmarks", "phonemes"],
        sections=sections,
    )


def live_card(run: Path, validation_run: Path, name: str, lip_follow: Path, live: Path) -> Path:
    """The card of a streamable model (``--look_ahead``): what :func:`card` says, plus what a live avatar measured."""
    from talkhead.benchmarks.live import live_table
    from talkhead.hub.model_card import PIPELINE_TAGS, write_model_card
    from talkhead.models.mouth_motion import MouthMotionConfig
    from talkhead.training.eval_results import EXAMPLE_DATASET, results_from_files

    config = MouthMotionConfig.from_pretrained(HUB / name)
    final, validation = (json.loads((r / "training_summary.json").read_text()) for r in (run, validation_run))
    follow, streamed = json.loads(lip_follow.read_text()), json.loads(live.read_text())
    rows = follow["rows"]
    models = ", ".join(f"{row} {rows[row]['lip_follow']['mean']:.3f}" for row in rows if row.startswith("model:"))
    sections = {
        "What it is": f"""
The mouth-motion model made streamable, for live avatars (`talkhead avatar`, `talkhead live`,
`LipSyncAvatar.stream()`): a frame's mouth reads at most {config.look_ahead} future frames
({1000 * config.look_ahead / 25:.0f} ms) and {config.frames_before} past ones. Its inputs are the phones
{PHONE_DECODERS[config.phone_decoder]} and the 80-band mel minus a running mean of the speech heard so far
(starting from the training clips' mean); each frame is predicted from its own window of those frames, its
normalisations over that window alone. A stream therefore computes exactly what this model computes offline from
the same features. Output gain {config.output_gain}.

```python
from talkhead import LipSyncAvatar

avatar = LipSyncAvatar.from_video("video.mp4", mouth_model="talkhead/{name}")
stream = avatar.stream()  # stream.push(chunk) -> (frame, audio) pairs
```""",
        "Training recipe": f"""
Final weights: `{_command(run)}` ({final["steps"]} steps, {final["wall_seconds"] / 60:.1f} min on one CPU core,
{final["train_clips"]} clips). Step count and gain from the same recipe with held-out sources
(`{_command(validation_run)}`): best validation lip-follow {validation["best"]["lip_follow"]:.3f} at step
{validation["best"]["step"]}; at the fitted gain {validation["output_gain"]}:
{validation["validation_at_gain"]["lip_follow"]:.3f}, std ratio {validation["validation_at_gain"]["std_ratio"]:.2f}.""",
        "Measured on held-out speakers (test split)": f"""
The model alone against the offline models, `talkhead benchmark lip-follow --data DATASET --split test
--no-pipelines --mouth-model mouth-motion --mouth-model mouth-motion-allphone --mouth-model {name}` on
{len(follow["clips"])} test clips (lip-follow of the predicted opening): {models}.

Through a live avatar, `talkhead benchmark live --data DATASET --split test` ({len(streamed["per_clip"])} clips, each
prepared as an avatar and streamed its own speech in real time on a 2-core CPU):

{live_table(streamed)}""",
        "Limits": f"""
- Streaming costs: the model alone follows held-out mouths less well than the offline ones (above), and through a
  live avatar the mouth follows the speech {streamed["ratios"]["lip_follow"]:.2f} as well as offline lip-sync and
  shuts on {streamed["ratios"]["bilabial_closure"]:.2f} as many p, b and m.
- Phones are the phone loop's (English phones); the word recogniser of the offline `mouth-motion` needs whole
  words and is not run live.
- The visemes' phones are decoded again over the last 3 s about every 0.1 s in a phone worker process, so that no
  frame waits for a decoding; the CPU cores above count that process too.
- Trained on 11 minutes of 45 clips; see the `mouth-motion` card for how far that goes.""",
    }
    tag = PIPELINE_TAGS[config.model_type]
    return write_model_card(
        HUB / name,
        datasets=[EXAMPLE_DATASET],
        title=f"Mouth motion from speech, live, {name} (research only)",
        pipeline_tag=tag,
        eval_results=results_from_files(name, tag, [lip_follow]),
        summary="Phones and mel per video frame -> mouth shapes, reading at most 4 frames ahead, for live avatars.",
        tags=["talking-head", "lip-sync", "audio-to-landmarks", "phonemes", "streaming"],
        sections=sections,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    ex = commands.add_parser("export")
    ex.add_argument("--run", type=Path, required=True)
    ex.add_argument("--name", default="mouth-motion")
    ca = commands.add_parser("card")
    ca.add_argument("--run", type=Path, required=True)
    ca.add_argument("--validation-run", type=Path, required=True)
    ca.add_argument("--name", default="mouth-motion")
    ca.add_argument("--lip-follow", type=Path, required=True)
    ca.add_argument("--mouth", type=Path, required=True)
    ca.add_argument("--non-english", type=Path, help="benchmarks/non_english.py's JSON, for the Limits section")
    li = commands.add_parser("live-card")
    li.add_argument("--run", type=Path, required=True)
    li.add_argument("--validation-run", type=Path, required=True)
    li.add_argument("--name", default="mouth-motion-live")
    li.add_argument("--lip-follow", type=Path, required=True)
    li.add_argument("--live", type=Path, required=True, help="talkhead benchmark live's JSON")
    args = parser.parse_args()
    if args.command == "export":
        export(args.run, args.name)
    elif args.command == "live-card":
        print(live_card(args.run, args.validation_run, args.name, args.lip_follow, args.live))
    else:
        non_english = json.loads(args.non_english.read_text()) if args.non_english else None
        print(card(args.run, args.validation_run, args.name, args.lip_follow, args.mouth, non_english))


if __name__ == "__main__":
    main()
