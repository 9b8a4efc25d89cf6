#!/usr/bin/env python
"""What speech the English recogniser does not know gets: word phones, the phone loop, or the
recogniser's own confidence choosing between them.

    python benchmarks/non_english.py --data DATASET [--split test] [--model mouth-motion] [--json PATH]

The word decoder (:func:`talkhead.processing.phones.decode_phones`, ``decoder="words"``) hears every language as
English words. Three ways to feed the default mouth-motion model, per input:

* ``en``: the recogniser's words always;
* ``phone_loop``: the phone loop alone (``language`` set to another code, e.g. ``fr``);
* ``auto`` (the default): words where the recogniser's confidence reaches ``MIN_WORD_CONFIDENCE``, else the loop.

Rows: the real clips of ``--split`` (English, and MimicTalk's German clip): the recogniser's confidence and
lip-follow of the predicted opening against the real mouth; and espeak-ng voices (English, French, Spanish, German,
Mandarin, the same two sentences; skipped without ``espeak-ng``): the predicted opening against the speech's
loudness envelope and against the phone table (fitted on the train split; phone-loop phones). Writes
benchmarks/results/non_english.json.

``--sheet PNG --video CLIP.mp4`` also dubs CLIP with the French voice under ``--language en`` and ``--language auto``
(``talkhead lip-sync``) and draws a contact sheet: the clip's own mouths, then each dub's, with the speech's loudness
under each column, so one sees whether the mouth opens where the French is loud.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "non_english.json"
SENTENCES = {
    "en-us": "The quick brown fox jumps over the lazy dog. We will meet again tomorrow morning at the station, "
    "and then we can talk about the plan.",
    "fr-fr": "Le renard brun saute par dessus le chien paresseux. Nous nous retrouverons demain matin à la gare, "
    "et ensuite nous parlerons du projet.",
    "es": "El rápido zorro marrón salta sobre el perro perezoso. Nos veremos mañana por la mañana en la estación, "
    "y luego hablaremos del plan.",
    "de": "Der schnelle braune Fuchs springt über den faulen Hund. Wir treffen uns morgen früh am Bahnhof, und dann "
    "sprechen wir über den Plan.",
    "cmn": "快速的棕色狐狸跳过了懒狗。我们明天早上在车站见面，然后再谈这个计划。",
}
WAYS = {"en": "en", "phone_loop": "xx", "auto": "auto"}  # decode_phones' language for each way ("xx": not English)


def confidence(wave: np.ndarray) -> float:
    """The recogniser's word confidence on the whole of ``wave`` (one recognition pass)."""
    from talkhead.processing import phones

    recogniser = phones._word_decoder()
    recogniser.activate_search()
    phones._run(recogniser, phones._pcm(wave))
    return phones.word_confidence(recogniser.seg())


def opening(model, wave: np.ndarray, frames: int, language: str) -> np.ndarray:
    import torch

    from talkhead.models.mouth_motion.modeling_mouth_motion import inner_lip_gap

    return inner_lip_gap(torch.from_numpy(model.predict_speech(wave, frames, 25.0, language=language))).numpy()


def espeak(voice: str, text: str, folder: Path) -> np.ndarray:
    from talkhead.io.audio import load_audio

    path = folder / f"{voice}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(path), text], check=True)
    return load_audio(path)


def main() -> None:
    from talkhead.data.clips import iter_clips, load_dataset_dict
    from talkhead.hub import load_pretrained
    from talkhead.metrics.baselines import fit_phone_table, loudness_opening, phone_table_opening
    from talkhead.metrics.lip_follow import lip_follow
    from talkhead.models.mouth_motion import MouthMotionModel
    from talkhead.processing.audio import num_video_frames
    from talkhead.processing.mouth import inner_lip_opening
    from talkhead.processing.phones import MIN_WORD_CONFIDENCE, phone_features

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--model", default="mouth-motion")
    parser.add_argument("--json", type=Path, default=RESULTS)
    parser.add_argument("--sheet", type=Path, help="contact sheet PNG of --video dubbed with French speech")
    parser.add_argument("--video", type=Path, help="the clip the sheet dubs")
    args = parser.parse_args()
    if args.sheet and not (args.video and args.video.is_file()):
        parser.error("--sheet needs --video, an existing clip to dub")
    model = load_pretrained(MouthMotionModel, args.model).eval()
    splits = load_dataset_dict(args.data)
    train = list(iter_clips(splits["train"]))
    table = fit_phone_table(
        [phone_features(c.audio, c.num_frames, c.fps, "allphone") for c in train],
        [inner_lip_opening(c.landmarks) for c in train],
    )
    report = {
        "benchmark": "non_english",
        "data": args.data,
        "split": args.split,
        "model": args.model,
        "min_word_confidence": MIN_WORD_CONFIDENCE,
        "clips": {},
        "voices": {},
    }
    for clip in iter_clips(splits[args.split]):
        real = inner_lip_opening(clip.landmarks)
        row = {"confidence": confidence(clip.audio)}
        row.update(
            {way: lip_follow(opening(model, clip.audio, clip.num_frames, code), real) for way, code in WAYS.items()}
        )
        report["clips"][clip.clip_id] = row
        print(clip.clip_id, {k: round(v, 3) for k, v in row.items()}, flush=True)
    if shutil.which("espeak-ng"):
        with tempfile.TemporaryDirectory() as scratch:
            for voice, text in SENTENCES.items():
                wave = espeak(voice, text, Path(scratch))
                frames = num_video_frames(len(wave))
                loudness = loudness_opening(wave, frames)
                table_opening = phone_table_opening(table, phone_features(wave, frames, 25.0, "allphone"))
                row = {"confidence": confidence(wave)}
                for way, code in WAYS.items():
                    predicted = opening(model, wave, frames, code)
                    row[way] = {
                        "loudness": lip_follow(predicted, loudness),
                        "phone_table": lip_follow(predicted, table_opening),
                    }
                report["voices"][voice] = row
                print(voice, json.dumps(row), flush=True)
    args.json.write_text(json.dumps(report, indent=1) + "\n")
    print(markdown(report))
    if args.sheet:
        french_sheet(args.video, args.sheet)


def french_sheet(video: Path, out: Path, columns: int = 10, side: int = 128) -> None:
    """Rows: ``video``'s own mouths, then dubbed with espeak-ng French under ``en`` and ``auto``; a loudness bar
    (the speech's RMS at each column's frame, over its loudest frame) under each dubbed strip."""
    import sys

    import cv2

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from readme_example import mouth_strip

    from talkhead.processing.audio import frame_rms, num_video_frames

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        wave = espeak("fr-fr", SENTENCES["fr-fr"], scratch)
        rms = frame_rms(wave, num_video_frames(len(wave)))
        picks = np.linspace(0, len(rms) - 1, columns).round().astype(int)
        bar = np.full((16, columns * side, 3), 255, np.uint8)
        for column, level in enumerate(rms[picks] / rms.max()):
            bar[2:14, column * side + 4 : column * side + 4 + int(level * (side - 8))] = (200, 60, 40)
        rows = [mouth_strip(video, columns, side)]
        for language in ("en", "auto"):
            dubbed = scratch / f"dubbed_{language}.mp4"
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "talkhead.cli",
                    "lip-sync",
                    "--video",
                    str(video),
                    "--audio",
                    str(scratch / "fr-fr.wav"),
                    "-o",
                    str(dubbed),
                    "--audio-longer",
                    "trim",
                    "--language",
                    language,
                    "--quiet",
                ],
                check=True,
            )
            rows += [mouth_strip(dubbed, columns, side), bar]
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), cv2.cvtColor(np.concatenate(rows, 0), cv2.COLOR_RGB2BGR))
    print(f"wrote {out}")


def markdown(report: dict) -> str:
    lines = ["| real clip | recogniser confidence | `en` | `phone_loop` | `auto` |", "|---|---|---|---|---|"]
    for clip_id, row in report["clips"].items():
        lines.append(
            f"| {clip_id} | {row['confidence']:.2f} | {row['en']:.3f} | {row['phone_loop']:.3f} | {row['auto']:.3f} |"
        )
    means = {way: np.nanmean([row[way] for row in report["clips"].values()]) for way in WAYS}
    lines.append(f"| **mean** | | {means['en']:.3f} | {means['phone_loop']:.3f} | {means['auto']:.3f} |")
    if report["voices"]:
        lines += [
            "",
            "| espeak-ng voice | confidence | `en` loudness / table | `phone_loop` | `auto` |",
            "|---|---|---|---|---|",
        ]
        for voice, row in report["voices"].items():
            cells = [f"{row[way]['loudness']:.3f} / {row[way]['phone_table']:.3f}" for way in WAYS]
            lines.append(f"| {voice} | {row['confidence']:.2f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
