"""talkhead Space: a talking head from one photo and speech, lip-sync (dubbing) of a video, and a live avatar.

The first two tabs call the library's pipelines (``talkhead.pipelines.talking_head`` and ``lip_sync``) and score
the result with the ``mouth-sync`` expert (1 s of tracked mouth shapes against the speech; the image experts
``syncnet-eval`` and ``avsyncnet-small`` cannot tell offsets on new faces, benchmarks/RESULTS.md). Run it from the
repository root with ``python spaces/talkhead/app.py``; the models load once, on the first request or at start-up.
The Live tab (live_tab.py) prepares a video as a ``LipSyncAvatar`` and lip-syncs it to speech as it arrives.
"""

from __future__ import annotations

import functools
import inspect
import re
import shutil
import sys
import tempfile
import threading
from pathlib import Path
from types import SimpleNamespace

import gradio as gr

HERE = Path(__file__).resolve().parent
# the example speech: beside app.py in a deployed Space (README.md, "Deploying"), else the repository's
SPEECH = next(
    (path for path in (HERE / "speech.wav", HERE.parents[1] / "examples" / "assets" / "speech.wav") if path.is_file()),
    HERE / "speech.wav",
)
CACHE = Path(tempfile.gettempdir()) / "talkhead-space"
OUTPUTS = CACHE / "outputs"  # one folder per request; only the newest KEEP_OUTPUTS are kept
KEEP_OUTPUTS = 20
OUTPUTS_LOCK = threading.Lock()  # one request at a time prunes or discards: another's stat never finds a folder gone
OUTPUT_SIZE = 512  # the talking head's output_size (--output-size): the Space runs on CPU
# what one request may ask of a 2-core CPU Space (README.md, "Limits"): larger inputs get a message saying what to do
MAX_UPLOAD = "20mb"  # per file, enforced by Gradio before a handler runs
MAX_SECONDS = 30.0  # speech, and the video to dub
MAX_VIDEO_SIDE = 1280  # the longer side of the video to dub (the output keeps the video's size)
PADDING_SLACK = 0.1  # s a decoded track may run past its declared end: AAC and MP3 pad their last frame
CONCURRENT_RENDERS = 2  # one a core; the pipelines are safe to share between threads
QUEUE_SIZE = 8  # requests waiting beyond this are turned away ("queue is full") instead of waiting for minutes
# a handler's progress tracker: Gradio finds it as a parameter default and gives each event a fresh one
PROGRESS = gr.Progress(track_tqdm=True)

from talkhead import defaults  # noqa: E402
from talkhead.data.mouth_sync import mouth_sync_video  # noqa: E402
from talkhead.errors import TalkheadInputError  # noqa: E402
from talkhead.evaluation.verdict import cannot_tell, judge_offset  # noqa: E402
from talkhead.hub import load_pretrained  # noqa: E402
from talkhead.io import audio as audio_io  # noqa: E402
from talkhead.io.audio import declared_audio_seconds, decoded_audio_seconds  # noqa: E402
from talkhead.io.video_probe import decoded_video_seconds, probe_video, stored_frame_size  # noqa: E402
from talkhead.models.mouth_sync import MouthSyncModel  # noqa: E402
from talkhead.options import LipSyncOptions, TalkingHeadOptions  # noqa: E402
from talkhead.pipelines.lip_sync import LipSyncModels, lip_sync  # noqa: E402
from talkhead.pipelines.loading import TalkingHeadModels, load_talking_head_models  # noqa: E402
from talkhead.pipelines.talking_head import talking_head  # noqa: E402
from talkhead.processing import audio as audio_lib  # noqa: E402

if str(HERE) not in sys.path:  # the helper modules beside this file, also when it is loaded by path (the tests)
    sys.path.insert(0, str(HERE))
from live_tab import LiveTab  # noqa: E402
from space_plots import mouth_plot, offset_plot  # noqa: E402

# the models, by id (the library's defaults): the Hugging Face cache if they were downloaded there, else the copies
# inside the installed talkhead package (talkhead.hub); nothing is fetched at start-up
MODELS = {
    "head_model": defaults.HEAD_MOTION,
    "mouth_model": defaults.MOUTH_MOTION,
    "face_generator": defaults.FACE_GENERATOR,
    "silent_lip": defaults.SILENT_LIP,
    "mouth_sync": defaults.MOUTH_SYNC,
    "live_mouth_model": defaults.LIVE_MOUTH_MOTION,
}

LANGUAGE_LABEL = "language: auto (English words where understood), en, or another code such as fr (phones only)"
HEARD_LABEL = "what was heard: the words recognised (or the phone count) and the language path taken"
REPAINT_LABEL = "repaint: the face generator repaints the mouth (blurry with the small shipped model)"
SCORE_NOTE = (
    "offset: frames between lips and audio at the best match (0 is in sync; below 0 the mouth moves before "
    "its sound); confidence: how far that offset's score stands above the median offset's (higher is surer; the "
    "verdict counts ±1 frame as in sync and cannot tell below what unrelated speech reaches on a clip as long). "
    "Scored by the mouth-sync expert on 1 s windows of the tracked mouth; on held-out speakers it finds a "
    "5-frame shift every time, but it was trained on 11 minutes of video: compare, do not trust alone."
)


@functools.lru_cache(maxsize=1)
def models() -> SimpleNamespace:
    """The shipped checkpoints (talkhead.defaults), loaded once by the library's loaders and shared by every request:
    each task's models, and the mouth-sync expert that scores both."""
    talking = load_talking_head_models(
        MODELS["head_model"], MODELS["mouth_model"], MODELS["face_generator"], MODELS["silent_lip"]
    )
    return SimpleNamespace(
        talking_head=talking,
        lip_sync=LipSyncModels(mouth_model=talking.mouth_model),  # the retrieval renderer, with the same mouth model
        mouth_sync=load_pretrained(MouthSyncModel, MODELS["mouth_sync"]).eval(),
    )


_PATH = re.compile(r"(?<![^\s'\"(])(?:[A-Za-z]:)?(?:[/\\][^\s'\"/\\]+)*[/\\]([^\s'\"/\\]+)")  # at a word's start


def public(text: str) -> str:
    """``text`` with every file path cut to its file name: a user sees 'speech.wav', never where the server keeps it."""
    return _PATH.sub(r"\1", text)


def user_errors(handler):
    """Input problems become a readable gr.Error (no traceback, no server path); anything else is a bug and
    propagates. A generator (a streaming handler) stays one, or Gradio would not stream it."""

    if inspect.isgeneratorfunction(handler):

        @functools.wraps(handler)
        def streamed(*args, **kwargs):
            try:
                yield from handler(*args, **kwargs)
            except (TalkheadInputError, FileNotFoundError) as error:
                raise gr.Error(public(str(error))) from error

        return streamed

    @functools.wraps(handler)
    def wrapped(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except (TalkheadInputError, FileNotFoundError) as error:
            raise gr.Error(public(str(error))) from error

    return wrapped


def check_speech(audio: str) -> None:
    """Refuse speech over MAX_SECONDS before decoding it: a few MB of low-bitrate Opus can hold an hour, gigabytes
    once decoded."""
    declared = declared_audio_seconds(audio)
    if declared is not None and declared > MAX_SECONDS:
        raise speech_too_long(f"{declared:.1f} s long")
    # a header is trusted to refuse, never to accept (it may be missing, or claim 10 s of an hour): decode, but only
    # up to just past the limit; the slack is the padding codecs add to their last frame, which load_audio trims
    if decoded_audio_seconds(audio, stop_after=MAX_SECONDS + PADDING_SLACK) > MAX_SECONDS + PADDING_SLACK:
        raise speech_too_long(f"longer than {MAX_SECONDS:g} s")


def speech_too_long(length: str) -> gr.Error:
    return gr.Error(
        f"the speech is {length}; this Space takes at most {MAX_SECONDS:g} s: cut it, or "
        "run `talkhead talking-head` / `talkhead lip-sync` on your own machine, which have no limit"
    )


def check_video(video: str) -> None:
    """Refuse a video over MAX_VIDEO_SIDE or MAX_SECONDS from its header, before a frame is decoded."""
    width, height = stored_frame_size(video)
    if max(width, height) > MAX_VIDEO_SIDE:
        raise gr.Error(
            f"the video is {width}x{height}; this Space takes at most {MAX_VIDEO_SIDE} pixels on "
            f"the longer side: scale it down (ffmpeg -i in.mp4 -vf scale=-2:720 out.mp4), or run "
            "`talkhead lip-sync` on your own machine"
        )
    duration = probe_video(video).duration  # 0 when the header gives none (a live recording's webm)
    if duration > MAX_SECONDS:
        raise video_too_long(f"{duration:.1f} s long")
    # the pipeline streams the frames, so a header that gives a length is trusted; only a missing one costs a decode
    if not duration and decoded_video_seconds(video, stop_after=MAX_SECONDS) > MAX_SECONDS:
        raise video_too_long(f"longer than {MAX_SECONDS:g} s")


def video_too_long(length: str) -> gr.Error:
    return gr.Error(
        f"the video is {length}; this Space dubs at most {MAX_SECONDS:g} s: cut it, "
        "or run `talkhead lip-sync` on your own machine"
    )


def prune_outputs(keep: int = KEEP_OUTPUTS) -> None:
    """Delete the empty folders of failed runs and all but the ``keep`` newest outputs.

    Gradio serves results from its own copy, so an old folder is not needed once its request has returned; at
    most CONCURRENT_RENDERS requests run at once, always among the newest folders, so none in use is removed.
    """
    if not OUTPUTS.is_dir():
        return
    folders = []
    for folder in OUTPUTS.iterdir():
        if not folder.is_dir():
            continue
        if not any(folder.iterdir()):
            shutil.rmtree(folder, ignore_errors=True)
        else:
            folders.append(folder)
    folders.sort(key=lambda folder: folder.stat().st_mtime, reverse=True)
    for folder in folders[max(keep, 0) :]:
        shutil.rmtree(folder, ignore_errors=True)


def new_output(name: str) -> Path:
    """A fresh path ``OUTPUTS/<unique>/name``; the older outputs beyond the newest KEEP_OUTPUTS - 1 are deleted
    first."""
    with OUTPUTS_LOCK:
        prune_outputs(KEEP_OUTPUTS - 1)
        OUTPUTS.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(dir=OUTPUTS)) / name


def discard_output(path: Path) -> None:
    """Remove the folder of a run that failed (whatever it left there)."""
    if path.parent.parent == OUTPUTS:
        with OUTPUTS_LOCK:
            shutil.rmtree(path.parent, ignore_errors=True)


def score_outputs(video: str) -> tuple[str, object]:
    """(score text, offset plot), the verdict of `talkhead evaluate video` first; a result that cannot be scored
    still comes back, with the reason."""
    try:
        score = mouth_sync_video(video, model=models().mouth_sync)
    except TalkheadInputError as error:  # the tracker lost the face, or the clip is shorter than the search needs
        return f"**verdict: {cannot_tell(public(str(error))).line()}**", None
    verdict = judge_offset(score["offset"], score["confidence"], score["max_lag"], score["windows"])
    seconds = score["frames"] / audio_lib.VIDEO_FPS
    text = (
        f"**verdict: {verdict.line()}**\n\noffset {score['offset']:+d} frames, confidence {score['confidence']:.3f} "
        f"({seconds:.1f} s scored)\n\n{SCORE_NOTE}"
    )
    return text, offset_plot(score)


def heard_line(heard) -> str:
    """What the speech was heard as: the line `talkhead talking-head` and `lip-sync` print (HeardSpeech.summary)."""
    return heard.summary() if heard is not None else "nothing: no phones were decoded (the speech is silent)"


def notes(warnings: list[str], stage_seconds: dict[str, float], extra: list[str] = ()) -> str:
    timing = ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in stage_seconds.items() if seconds >= 0.05)
    lines = [f"- {public(line)}" for line in [*extra, *warnings]] + [f"- time: {timing}"]
    return "\n".join(lines)


@user_errors
def animate(image, audio, head_motion_scale, lip_scale, repaint, language=defaults.LANGUAGE, progress=PROGRESS):
    """Talking-head tab: photo (RGB array) + speech file -> (video, mouth plot, score, confidence plot, notes,
    what was heard)."""
    if image is None or audio is None:
        raise gr.Error("Give a photo with a face and a speech recording.")
    check_speech(audio)
    progress(0, desc="loading models")
    m = models()
    options = TalkingHeadOptions(
        head_motion_scale=float(head_motion_scale),
        lip_scale=float(lip_scale),
        repaint=bool(repaint),
        output_size=OUTPUT_SIZE,
        language=language,
    )
    output = new_output("talking_head.mp4")
    try:
        result = talking_head(image, audio, output, m.talking_head, options)
    except BaseException:
        discard_output(output)
        raise
    wave = audio_io.load_audio(audio)
    progress(0.95, desc="scoring sync")
    score_text, confidence = score_outputs(result.video)
    return (
        result.video,
        mouth_plot(result.landmarks, wave, result.fps),
        score_text,
        confidence,
        notes(result.warnings, result.stage_seconds),
        heard_line(result.heard),
    )


@user_errors
def dub(video, audio, language=defaults.LANGUAGE, progress=PROGRESS):
    """Lip-sync tab: video + speech files -> (dubbed video, report, score, confidence plot, what was heard)."""
    if video is None or audio is None:
        raise gr.Error("Give a video with a face and a speech recording.")
    check_speech(audio)
    check_video(video)
    progress(0, desc="loading models")
    m = models()
    output = new_output("lip_sync.mp4")
    try:
        result = lip_sync(video, audio, output, m.lip_sync, LipSyncOptions(language=language))
    except BaseException:
        discard_output(output)
        raise
    ranges = ", ".join(f"{a:.2f}-{b:.2f} s" for a, b in result.missing_face_ranges) or "none"
    extra = [
        f"{result.generated_frames} of {result.frames} frames dubbed; frames without a face (left unchanged): {ranges}"
    ]
    progress(0.95, desc="scoring sync")
    score_text, confidence = score_outputs(result.video)
    report = notes(result.warnings, result.stage_seconds, extra)
    return result.video, report, score_text, confidence, heard_line(result.heard)


def example_files() -> dict[str, str]:
    """The astronaut photo and, made once and cached, a video of her moving her head with a closed mouth."""
    from skimage import data, io

    CACHE.mkdir(parents=True, exist_ok=True)
    photo, video = CACHE / "astronaut.png", CACHE / "astronaut_closed_mouth.mp4"
    if not photo.exists():
        io.imsave(photo, data.astronaut(), check_contrast=False)
    if not video.exists():
        m = models()
        options = TalkingHeadOptions(lip_scale=0, output_size=OUTPUT_SIZE)  # the head moves, the mouth stays closed
        talking_head(str(photo), str(SPEECH), video, TalkingHeadModels(m.talking_head.head_model), options)
    return {"photo": str(photo), "speech": str(SPEECH), "video": str(video)}


def language_choice() -> gr.Dropdown:
    """The speech's language (``--language`` of both commands): a listed choice, or any code typed in."""
    return gr.Dropdown(["auto", "en"], value=defaults.LANGUAGE, allow_custom_value=True, label=LANGUAGE_LABEL)


def heard_box(elem_id: str) -> gr.Textbox:
    """The read-only line of what the speech was heard as (:func:`heard_line`)."""
    return gr.Textbox(label=HEARD_LABEL, interactive=False, lines=2, elem_id=elem_id)


def talking_head_tab(examples: dict[str, str]) -> None:
    with gr.Row():
        with gr.Column():
            image = gr.Image(type="numpy", label="image: a photo of one frontal face")
            audio = gr.Audio(sources=["upload", "microphone"], type="filepath", label="audio: speech")
            head = gr.Slider(0, defaults.MAX_MOTION_SCALE, value=1, step=0.05, label="head motion scale")
            lips = gr.Slider(0, defaults.MAX_MOTION_SCALE, value=1, step=0.05, label="lip scale")
            repaint = gr.Checkbox(False, label=REPAINT_LABEL)
            language = language_choice()
            run = gr.Button("Generate", variant="primary")
        with gr.Column():
            video = gr.Video(label="talking head", elem_id="talking-head-video")
            heard = heard_box("talking-head-heard")
            score = gr.Markdown(label="sync score", elem_id="talking-head-score")
            notes_box = gr.Markdown(label="notes")
    mouth = gr.Plot(label="mouth opening and audio envelope")
    confidence = gr.Plot(label="sync score per audio offset (mouth-sync expert)")
    inputs = [image, audio, head, lips, repaint, language]
    outputs = [video, mouth, score, confidence, notes_box, heard]
    run.click(animate, inputs, outputs, concurrency_id="render", api_name="talking_head")
    example = [examples["photo"], examples["speech"], 1.0, 1.0, False, defaults.LANGUAGE]
    gr.Examples([example], inputs, cache_examples=False)


def lip_sync_tab(examples: dict[str, str]) -> None:
    with gr.Row():
        with gr.Column():
            source = gr.Video(label="video: one face", sources=["upload"])
            audio = gr.Audio(sources=["upload", "microphone"], type="filepath", label="audio: the new speech")
            language = language_choice()
            run = gr.Button("Dub", variant="primary")
        with gr.Column():
            video = gr.Video(label="dubbed video", elem_id="lip-sync-video")
            heard = heard_box("lip-sync-heard")
            score = gr.Markdown(label="sync score")
            report = gr.Markdown(label="notes")
    confidence = gr.Plot(label="sync score per audio offset (mouth-sync expert)")
    inputs = [source, audio, language]
    outputs = [video, report, score, confidence, heard]
    run.click(dub, inputs, outputs, concurrency_id="render", api_name="lip_sync")
    gr.Examples([[examples["video"], examples["speech"], defaults.LANGUAGE]], inputs, cache_examples=False)


def build_demo() -> gr.Blocks:
    examples = example_files()
    with gr.Blocks(title="talkhead", delete_cache=(3600, 3600)) as demo:  # Gradio's copies of results: an hour
        gr.Markdown(
            "# talkhead\nA talking head from one photo and speech, and lip-sync of a video. Small models "
            "trained on 11 minutes of video, on CPU: expect several seconds of waiting per second of speech. "
            "Lip-sync reuses the video's own mouths (sharp); a talking head's mouth is blurry only if repainted. "
            "Live: a video prepared once as an avatar speaks what the microphone hears, as it hears it."
        )
        with gr.Tab("Talking head"):
            talking_head_tab(examples)
        with gr.Tab("Lip-sync"):
            lip_sync_tab(examples)
        with gr.Tab("Live"):
            LiveTab(check_video, check_speech, user_errors).build(examples)
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=CONCURRENT_RENDERS)  # the position in it is shown
    return demo


def launch(demo: gr.Blocks, **kwargs):
    """``demo.launch`` with the Space's upload limit (a file over MAX_UPLOAD is refused before any handler runs)."""
    return demo.launch(max_file_size=MAX_UPLOAD, **kwargs)


if __name__ == "__main__":
    models()
    launch(build_demo())
