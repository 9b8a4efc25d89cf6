"""The Space's Live tab: a video prepared once as an avatar (talkhead's LipSyncAvatar), then lip-synced to speech as
it arrives, from the microphone or from a speech file played as if live.

Transport. A generator's streaming ``gr.Video`` output reaches the browser as one HLS playlist (Gradio's own, through
ffmpeg): each mp4 the generator yields becomes a segment, its audio re-encoded into one continuous track. The
microphone's ``.stream`` event cannot feed such a generator itself: the queue calls a stream handler once per chunk,
and a generator there is only advanced, never handed the next chunk. So the stream handler (:meth:`LiveTab.hear`)
only files each chunk, resampled to 16 kHz, with its arrival time, in the session's inbox, and a player generator
started with the recording (:meth:`LiveTab.play_microphone`) has a thread push them to the avatar's stream as they
come and yields the frames made so far, with their paired audio, as one short mp4 per step (:class:`Player`), so
the next frames render while Gradio sends the last segment. A speech file is played by the same machinery, fed
from the file in real-time-sized chunks, each held back until it would have been heard whole.

Latency shown: per segment, from the arrival at the handler of the first chunk it holds frames of to the segment
being yielded, and the stream's own hold-back (``latency_frames``, the mouth model's look-ahead); the browser's
player buffers a few segments on top.
"""

from __future__ import annotations

import functools
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import gradio as gr
import numpy as np
import soxr  # librosa's resampler (installed with it), which can resample a stream

from talkhead import defaults
from talkhead.hub import load_pretrained
from talkhead.io import audio as audio_io
from talkhead.io.video_probe import probe_video, stored_frame_size
from talkhead.io.video_writer import VideoWriter
from talkhead.models.mouth_motion import MouthMotionModel
from talkhead.pipelines.live import LipSyncAvatar

SAMPLE_RATE = audio_io.SAMPLE_RATE
CHUNK_SECONDS = 0.5  # the microphone's stream_every (the browser may send smaller) and a speech file's chunks
MAX_LIVE_SIDE = 720  # the avatar video's longer side: 25 frames a second must render and encode on a 2-core CPU
LIVE_SECONDS = 60  # one recording (the microphone stream's time limit) or one file played (at most app.MAX_SECONDS)
QUIET_STOP = 5.0  # s without a microphone chunk after which the player stops (the page was closed or the stream ended)
LIVE_SESSIONS = 2  # sessions streaming at once; each holds a player and a microphone slot while it streams
AVATAR_SECONDS = 1800  # a prepared avatar (up to 6 s of frames) is kept this long in its browser session
MIN_SEGMENT_FRAMES = 10  # a segment waits for this many frames (but not at the end): hls.js wants no slivers
MAX_BACKLOG = 125  # frames made but not yet sent, at most: 5 s (the page stopped reading, or is far behind)
SEGMENTS = Path(tempfile.gettempdir()) / "talkhead-space" / "live"  # a folder per player, removed when it stops
NO_AVATAR = "No avatar is prepared yet: give a video of one face and press 'Prepare avatar' first."
PROGRESS = gr.Progress(track_tqdm=True)


@functools.lru_cache(maxsize=1)
def mouth_model() -> MouthMotionModel:
    """The streamable mouth-motion model every avatar speaks with, loaded once (a stream keeps its own state)."""
    return load_pretrained(MouthMotionModel, defaults.LIVE_MOUTH_MOTION).eval()


class LiveSession:
    """One browser session's prepared avatar, its live stream, and the microphone chunks waiting for the player."""

    def __init__(self, avatar: LipSyncAvatar):
        self.avatar = avatar
        self.stream = avatar.stream()
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()  # (16 kHz chunk, arrival); a None chunk: recording over
        self.player: Player | None = None  # the player streaming now; a newer one takes over from it
        self._resampler = None  # (rate, soxr stream): stateful, so chunk edges leave no clicks
        self._lock = threading.Lock()

    def hear(self, rate: int, samples: np.ndarray, arrival: float) -> None:
        """File a microphone chunk (int16 or float, mono or channels last) as 16 kHz mono float32."""
        wave = np.asarray(samples)
        wave = wave.astype(np.float32) / 32768.0 if wave.dtype == np.int16 else wave.astype(np.float32)
        if wave.ndim == 2:
            wave = wave.mean(axis=1)
        with self._lock:
            if rate != SAMPLE_RATE:
                if self._resampler is None or self._resampler[0] != rate:
                    self._resampler = (rate, soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="float32"))
                wave = self._resampler[1].resample_chunk(wave)
            self.inbox.put((wave, arrival))

    def recording_over(self) -> None:
        """The recording stopped: what the resampler still holds, then the end; the next one starts afresh."""
        with self._lock:
            if self._resampler is not None:
                tail = self._resampler[1].resample_chunk(np.zeros(0, np.float32), last=True)
                self.inbox.put((tail, time.perf_counter()))
                self._resampler = None
            self.inbox.put((None, time.perf_counter()))


class Player:
    """One player run. A thread pushes the speech chunks to the session's stream as they come, while
    :meth:`segments` writes the frames made so far, with their paired audio, as one mp4 segment per step: the next
    frames render while Gradio sends the last segment. Use as a context manager: its segments' folder goes when it
    stops, and a newer player of the session takes over from it."""

    def __init__(self, session: LiveSession):
        self.session, self.stream = session, session.stream
        self.started = time.perf_counter()
        self.latencies: list[float] = []
        self.frames = 0
        self._made: list[tuple[np.ndarray, np.ndarray, float]] = []  # (frame, audio, its chunk's arrival)
        self._ready = threading.Condition()
        self._rendering = False
        self._error: BaseException | None = None
        self._closed = False

    def __enter__(self) -> Player:
        SEGMENTS.mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(prefix="player-", dir=SEGMENTS))
        self.session.player = self
        return self

    def __exit__(self, *exc) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify_all()
        shutil.rmtree(self.folder, ignore_errors=True)
        if self.session.player is self:
            self.session.player = None

    @property
    def stopped(self) -> bool:
        """Closed, or a newer player took over the session's stream (a file played during a recording, or the
        other way round)."""
        return self._closed or self.session.player is not self

    def segments(self, chunks: Iterator[tuple[np.ndarray | None, float]]) -> Iterator[tuple[str, str]]:
        """(segment path, latency text) as frames are made from ``chunks``: (16 kHz wave, its arrival time), a None
        wave for the utterance's end (the held-back frames come out)."""
        self._rendering = True
        threading.Thread(target=self._render, args=(chunks,), daemon=True).start()
        previous: Path | None = None
        while True:
            with self._ready:
                self._ready.wait_for(lambda: not self._rendering or len(self._made) >= MIN_SEGMENT_FRAMES)
                made, self._made, rendering = self._made, [], self._rendering
                self._ready.notify_all()
            if previous is not None:  # Gradio has read a segment by the time it asks for the next
                previous.unlink(missing_ok=True)
            if made:
                previous = self._write(made)
                yield str(previous), self.report()
            if not rendering:
                break
        if self._error is not None:
            raise self._error

    def _render(self, chunks) -> None:
        try:
            for wave, arrival in chunks:
                if self.stopped:
                    break
                pairs = self.stream.end() if wave is None else self.stream.push(wave)
                with self._ready:
                    self._made.extend((frame, audio, arrival) for frame, audio in pairs)
                    self._ready.notify_all()
                    # a page that stopped reading gets no more than MAX_BACKLOG frames kept for it
                    self._ready.wait_for(lambda: len(self._made) < MAX_BACKLOG or self._closed)
        except BaseException as error:  # handed to the generator, which raises it where Gradio sees it
            self._error = error
        finally:
            with self._ready:
                self._rendering = False
                self._ready.notify_all()

    def _write(self, made) -> Path:
        path = self.folder / f"segment_{len(self.latencies):05d}.mp4"
        with VideoWriter(path, fps=self.stream.fps, audio=np.concatenate([audio for _, audio, _ in made])) as writer:
            for frame, _, _ in made:
                writer.write(frame)
        self.frames += len(made)
        self.latencies.append(time.perf_counter() - min(arrival for _, _, arrival in made))
        return path

    def report(self) -> str:
        latest = self.latencies[-1] * 1000
        median, worst = np.median(self.latencies) * 1000, max(self.latencies) * 1000
        held = self.stream.latency_frames
        return (
            f"**latency: {latest:.0f} ms** from the speech chunk's arrival to its video segment (segment "
            f"{len(self.latencies)}: median {median:.0f} ms, at most {worst:.0f} ms)\n\n"
            f"the stream holds back {held} frames ({held / self.stream.fps * 1000:.0f} ms), the mouth model's "
            f"look-ahead; {self.frames} frames out ({self.frames / self.stream.fps:.1f} s of video). The browser's "
            "player buffers a few segments on top."
        )


def microphone_chunks(session: LiveSession, player: Player):
    """The chunks the microphone handler files, as they come, until the recording ends (then None), the player
    stops, or none has come for QUIET_STOP seconds."""
    heard, last = False, time.perf_counter()
    while not player.stopped and time.perf_counter() - player.started < LIVE_SECONDS + QUIET_STOP:
        try:
            wave, arrival = session.inbox.get(timeout=0.1)
        except queue.Empty:
            if time.perf_counter() - last > QUIET_STOP:
                break
            continue
        if wave is None and not heard and arrival < player.started:
            continue  # the end of an earlier recording, whose player had stopped already
        if wave is None:
            break
        heard, last = True, time.perf_counter()
        yield wave, arrival
    yield None, time.perf_counter()


def file_chunks(wave: np.ndarray, player: Player):
    """``wave`` in CHUNK_SECONDS chunks, each given when it would have been heard whole had it been spoken live
    from the player's start (its arrival), then None."""
    step = int(CHUNK_SECONDS * SAMPLE_RATE)
    for start in range(0, len(wave), step):
        chunk = wave[start : start + step]
        heard = player.started + (start + len(chunk)) / SAMPLE_RATE
        while not player.stopped and time.perf_counter() < heard:
            time.sleep(max(0.0, min(0.1, heard - time.perf_counter())))
        yield chunk, heard
    yield None, time.perf_counter()


class LiveTab:
    """The Live tab's handlers and layout. ``check_video`` and ``check_speech`` are the Space's input limits and
    ``readable_errors`` its error wrapper (app.py), so every tab refuses the same inputs the same way."""

    def __init__(self, check_video, check_speech, readable_errors):
        self.check_video, self.check_speech = check_video, check_speech
        # the handlers as the page calls them: input problems come back as readable messages
        self.prepare = readable_errors(self._prepare)
        self.play_file = readable_errors(self._play_file)
        self.play_microphone = readable_errors(self._play_microphone)

    def _prepare(self, video, progress=PROGRESS):
        """Video file -> (the session's LiveSession, a note on the avatar)."""
        if video is None:
            raise gr.Error("Give a video of one face (a few seconds, the head moving a little) to prepare an avatar.")
        self.check_video(video)
        name = Path(video).name
        if probe_video(video).is_still_image:
            raise gr.Error(
                f"{name} is a still image; an avatar is made from a video of the face (a few seconds, the head "
                "moving a little): give one, or animate the photo in the Talking head tab"
            )
        width, height = stored_frame_size(video)
        if max(width, height) > MAX_LIVE_SIDE:
            raise gr.Error(
                f"the video is {width}x{height}; a live avatar is at most {MAX_LIVE_SIDE} pixels on the longer side, "
                "to render in real time here: scale it down (ffmpeg -i in.mp4 -vf scale=-2:512 out.mp4), or run "
                "`talkhead avatar` and a live stream on your own machine"
            )
        progress(0, desc="preparing the avatar: tracking the face, pooling its mouths, choosing an idle loop")
        avatar = LipSyncAvatar.from_video(video, mouth_model=mouth_model(), progress=True)
        avatar.stream().idle(CHUNK_SECONDS)  # a process's first push costs about 1 s (lazy set-up): paid here, once
        session = LiveSession(avatar)
        loop, held = avatar.loop, session.stream.latency_frames
        note = (
            f"avatar ready: {avatar.config['size'][0]}x{avatar.config['size'][1]}, a {loop.length / avatar.fps:.1f} s "
            f"idle loop{' (played forward and back)' if loop.bounce else ''}, {avatar.config['pool_frames']} mouths "
            f"pooled, prepared in {avatar.config['prepared_seconds']:.1f} s. Speak into the microphone or play a "
            f"speech file; the stream holds back {held} frames ({held / avatar.fps * 1000:.0f} ms)."
        )
        return session, note

    def hear(self, audio, session: LiveSession | None) -> None:
        """Microphone stream handler: file the chunk for the player (started with the recording, which reports a
        missing avatar)."""
        arrival = time.perf_counter()
        if audio is None or session is None:
            return
        rate, samples = audio
        session.hear(int(rate), samples, arrival)

    def stop_listening(self, session: LiveSession | None) -> None:
        if session is not None:
            session.recording_over()

    def _play_microphone(self, session: LiveSession | None):
        """Started with the recording: the avatar speaks the microphone's chunks as they arrive, until it stops."""
        if session is None:
            raise gr.Error(NO_AVATAR)
        with Player(session) as player:
            yield from player.segments(microphone_chunks(session, player))

    def _play_file(self, session: LiveSession | None, speech):
        """The avatar speaks a speech file as if it were live."""
        if session is None:
            raise gr.Error(NO_AVATAR)
        if speech is None:
            raise gr.Error("Give a speech file to play (or use the microphone).")
        self.check_speech(speech)
        wave = audio_io.load_audio(speech)
        with Player(session) as player:
            yield from player.segments(file_chunks(wave, player))

    def build(self, examples: dict[str, str]) -> None:
        if not (shutil.which("ffmpeg") and shutil.which("ffprobe")):
            gr.Markdown(
                "**This machine lacks ffmpeg and ffprobe**, which Gradio needs to stream the live video: install "
                "them (`apt-get install ffmpeg`); a Hugging Face Space has them."
            )
        session = gr.State(None, time_to_live=AVATAR_SECONDS)
        with gr.Row():
            with gr.Column():
                video = gr.Video(label="video: one face, a few seconds (the avatar)", sources=["upload"])
                prepare = gr.Button("Prepare avatar", variant="primary")
                status = gr.Markdown(label="avatar", elem_id="live-status")
                microphone = gr.Audio(
                    sources=["microphone"], streaming=True, type="numpy", label="microphone: speak to the avatar"
                )
                speech = gr.Audio(sources=["upload"], type="filepath", label="speech file: played as if live")
                play = gr.Button("Play the file live")
            with gr.Column():
                output = gr.Video(label="live avatar", streaming=True, autoplay=True, elem_id="live-video")
                latency = gr.Markdown(label="latency", elem_id="live-latency")
        prepare.click(self.prepare, [video], [session, status], concurrency_id="render", api_name="live_prepare")
        live = {"concurrency_id": "live", "concurrency_limit": LIVE_SESSIONS}
        play.click(self.play_file, [session, speech], [output, latency], api_name="live_file", **live)
        # the microphone's events serve the page's own microphone only ("private"): an API client plays a file
        microphone.start_recording(self.play_microphone, [session], [output, latency], api_visibility="private", **live)
        microphone.stream(
            self.hear,
            [microphone, session],
            None,
            stream_every=CHUNK_SECONDS,
            time_limit=LIVE_SECONDS,
            concurrency_id="live_input",
            concurrency_limit=LIVE_SESSIONS,
            api_visibility="private",
        )
        microphone.stop_recording(
            self.stop_listening, [session], None, concurrency_limit=None, api_visibility="private"
        )
        gr.Examples([[examples["video"], examples["speech"]]], [video, speech], cache_examples=False)
