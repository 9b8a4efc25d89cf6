"""The Gradio Space (spaces/talkhead/app.py): its handlers on tiny inputs, and (opt-in) the app in a browser.

The browser test (``pytest -m slow tests/spaces``) needs Debian's Chromium and its driver, and selenium
(not in the ``dev`` extra: with its dependencies it is about 40 MB):

    apt-get install -y chromium chromium-driver
    .venv/bin/pip install selenium

Selenium is pointed at /usr/bin/chromedriver, so its selenium-manager never downloads a driver.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import socket
import time
import urllib.request
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile

gr = pytest.importorskip("gradio")

APP = Path(__file__).resolve().parents[2] / "spaces" / "talkhead" / "app.py"
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


@pytest.fixture(scope="module")
def app():
    spec = importlib.util.spec_from_file_location("talkhead_space_app", APP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def short_speech(app, tmp_path_factory) -> str:
    """The first 1.2 s of the repository's speech sample."""
    wave, rate = soundfile.read(str(app.SPEECH), dtype="float32")
    path = tmp_path_factory.mktemp("speech") / "speech.wav"
    soundfile.write(str(path), wave[: int(1.2 * rate)], rate)
    return str(path)


@pytest.fixture(scope="module")
def scorable_speech(app, tmp_path_factory) -> str:
    """The first 2.6 s of the speech sample: 65 frames, enough for the mouth-sync score (1 s windows, ±15 frames)."""
    wave, rate = soundfile.read(str(app.SPEECH), dtype="float32")
    path = tmp_path_factory.mktemp("speech") / "speech_2s6.wav"
    soundfile.write(str(path), wave[: int(2.6 * rate)], rate)
    return str(path)


def figure_lines(figure) -> list[np.ndarray]:
    return [line.get_ydata() for axis in figure.axes for line in axis.get_lines()]


def test_handlers_on_tiny_inputs(app, scorable_speech, monkeypatch):
    from skimage import data

    from talkhead.io.video_probe import probe_video

    monkeypatch.setattr(app, "OUTPUT_SIZE", 192)
    video, mouth, score, offsets, notes, heard = app.animate(data.astronaut(), scorable_speech, 1.0, 1.0, False)
    assert Path(video).is_file() and probe_video(video).width == 192
    assert len(figure_lines(mouth)[0]) == 65  # the mouth opening, one value per frame at 25 fps
    assert score.startswith("**verdict: ") and "; mouth_sync expert" in score.splitlines()[0]
    assert "confidence" in score and "(2.6 s scored)" in score
    assert list(offsets.axes[0].get_lines()[0].get_xdata()) == list(range(-15, 16))  # the score of every offset tried
    assert "time:" in notes
    # what the speech was heard as, the CLI's line: the English recogniser's words ("hello i am ...") under auto
    assert heard.startswith("heard (language auto -> words; word confidence ") and '"hello ' in heard, heard
    assert re.search(r'" \(\d+ phones\)$', heard), heard

    dubbed, report, score, offsets, heard = app.dub(video, scorable_speech, "fr")
    assert Path(dubbed).is_file() and probe_video(dubbed).width == 192
    assert re.fullmatch(r"heard \(language fr -> phone loop\): \d+ phones", heard), heard  # no English words
    assert "65 of 65 frames dubbed" in report and "without a face (left unchanged): none" in report
    assert score.startswith("**verdict: ") and len(figure_lines(offsets)[0]) == 31


def test_the_heard_line_is_the_one_the_cli_prints(app, capsys):
    from types import SimpleNamespace

    from talkhead.cli.common import print_report
    from talkhead.processing.heard import HeardPiece, heard_speech
    from talkhead.processing.phones import PhoneSegment

    segments = [PhoneSegment(phone, 0.1 * i, 0.1 * (i + 1)) for i, phone in enumerate(["HH", "AH", "L", "OW", "SIL"])]
    pieces = (HeardPiece(0.0, 0.3, "words", 0.7, "hello"), HeardPiece(0.3, 0.5, "phone loop", 0.2))
    heard = heard_speech("auto", "words", segments, pieces, 0.45)
    print_report(SimpleNamespace(video="out.mp4", heard=heard, warnings=[], stage_seconds={}), None, "written")
    line = app.heard_line(heard)
    assert f"\n  {line}\n" in capsys.readouterr().out
    how = "language auto -> words in 1 of 2 pieces; word confidence 0.70, 0.20 (needs 0.45)"
    assert line == f'heard ({how}): "hello" (4 phones)'
    assert app.heard_line(None).startswith("nothing")  # silent speech: the CLI prints no heard line


def test_the_api_names_every_value_and_both_tabs_take_the_cli_choices(app, monkeypatch):
    from talkhead.cli import build_parser

    monkeypatch.setattr(app, "example_files", lambda: {"photo": None, "speech": None, "video": None})
    demo = app.build_demo()
    endpoints = demo.get_api_info()["named_endpoints"]
    assert set(endpoints) == {"/talking_head", "/lip_sync", "/live_prepare", "/live_file"}
    labels = [part["label"] for endpoint in endpoints.values() for part in endpoint["parameters"] + endpoint["returns"]]
    assert not [label for label in labels if re.fullmatch(r"(value|parameter)_\d+", label)], labels
    for endpoint in (endpoints["/talking_head"], endpoints["/lip_sync"]):  # live speech is heard by the phone loop
        language = next(part for part in endpoint["parameters"] if part["parameter_name"] == "language")
        assert language["parameter_default"] == "auto" and language["label"] == app.LANGUAGE_LABEL
        assert endpoint["returns"][-1]["label"] == app.HEARD_LABEL  # what was heard: last, the others keep their place
    talking_head = build_parser()._subparsers._group_actions[0].choices["talking-head"]
    cli_help = next(action.help for action in talking_head._actions if "--head-motion-scale" in action.option_strings)
    sliders = [block for block in demo.blocks.values() if isinstance(block, app.gr.Slider)]
    assert {slider.maximum for slider in sliders} == {4} and "at most 4" in cli_help
    header = next(block.value for block in demo.blocks.values() if isinstance(block, app.gr.Markdown) and block.value)
    assert "expect a blurry mouth" not in header and "own mouths (sharp)" in header


def test_a_result_too_short_to_score_says_so(app, short_speech, monkeypatch):
    from skimage import data

    monkeypatch.setattr(app, "OUTPUT_SIZE", 192)
    _, _, score, offsets, _, _ = app.animate(data.astronaut(), short_speech, 1.0, 1.0, False)
    assert score.startswith("**verdict: cannot tell: ") and "needs at least 56" in score and offsets is None
    assert score.endswith("; mouth_sync expert**") and "/" not in score  # the file name only, never the server's path


def test_outputs_keep_only_the_newest_and_failed_runs_leave_nothing(app, short_speech, tmp_path, monkeypatch):
    import os

    monkeypatch.setattr(app, "OUTPUTS", tmp_path / "outputs")
    monkeypatch.setattr(app, "KEEP_OUTPUTS", 3)
    made = []
    for index in range(5):
        path = app.new_output("result.mp4")
        path.write_bytes(b"x")
        os.utime(path.parent, (1000 + index, 1000 + index))  # made one after the other
        made.append(path)
    app.new_output("failed.mp4")  # a run that died before writing anything
    path = app.new_output("last.mp4")
    kept = sorted(folder for folder in app.OUTPUTS.iterdir())
    assert [p.parent for p in made if p.parent.exists()] == [made[3].parent, made[4].parent]  # 2 + the newest = 3
    assert (
        len(kept) == 3
        and path.parent in kept
        and all(any(folder.iterdir()) or folder == path.parent for folder in kept)
    )
    gray = np.full((200, 200, 3), 128, np.uint8)
    with pytest.raises(gr.Error):
        app.animate(gray, short_speech, 1.0, 1.0, False)  # no face: its output folder is removed
    assert len(list(app.OUTPUTS.iterdir())) == 2  # the empty "last" folder was pruned, the failed run removed


def test_bad_inputs_are_readable_errors(app, short_speech):
    gray = np.full((200, 200, 3), 128, np.uint8)
    with pytest.raises(gr.Error) as error:
        app.animate(gray, short_speech, 1.0, 1.0, False)
    assert "no face found in the photo" in error.value.message
    with pytest.raises(gr.Error, match="Give a photo"):
        app.animate(None, short_speech, 1.0, 1.0, False)
    with pytest.raises(gr.Error) as error:
        app.dub(str(APP), short_speech)  # not a video
    assert "Traceback" not in error.value.message and error.value.message
    assert "app.py" in error.value.message and str(APP.parent) not in error.value.message  # the name, not the path


def test_inputs_over_the_limits_are_refused_before_any_work(app, short_speech, tmp_path, astronaut, monkeypatch):
    from ..conftest import talking_video, write_av

    monkeypatch.setattr(app, "models", lambda: pytest.fail("the models were reached"))
    long_speech = tmp_path / "long.wav"
    wave, rate = soundfile.read(short_speech, dtype="float32")
    soundfile.write(str(long_speech), np.tile(wave, 30), rate)  # 36 s
    with pytest.raises(gr.Error, match=r"36.0 s long; this Space takes at most 30 s"):
        app.animate(astronaut, str(long_speech), 1.0, 1.0, False)
    wide = write_av(tmp_path / "wide.mp4", [np.pad(astronaut, ((0, 0), (400, 400), (0, 0)))] * 5)
    with pytest.raises(gr.Error, match=r"1312x512; this Space takes at most 1280 pixels") as error:
        app.dub(str(wide), short_speech)
    assert str(tmp_path) not in error.value.message
    monkeypatch.setattr(app, "MAX_SECONDS", 0.1)
    with pytest.raises(gr.Error, match="the video is 0.2 s long; this Space dubs at most 0.1 s"):
        app.check_video(str(talking_video(tmp_path / "v.mp4", astronaut, num_frames=5)))


def write_opus(path: Path, seconds: float, **container_options) -> Path:
    """A 220 Hz tone as 6 kbps Opus at the encoder's fastest setting: minutes of speech in a few kB."""
    rate = 16000
    tone_block = (0.3 * np.sin(2 * np.pi * 220 * np.arange(10 * rate) / rate)).astype(np.float32)[None]
    with av.open(str(path), "w", options=container_options) as container:
        stream = container.add_stream("libopus", rate=rate, layout="mono", options={"compression_level": "0"})
        stream.bit_rate = 6000
        for block in range(int(seconds // 10)):
            frame = av.AudioFrame.from_ndarray(tone_block, format="flt", layout="mono")
            frame.sample_rate, frame.pts = rate, block * tone_block.shape[1]
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def test_long_compressed_speech_is_refused_from_its_header_without_decoding(app, astronaut, tmp_path, monkeypatch):
    monkeypatch.setattr(app, "models", lambda: pytest.fail("the models were reached"))
    monkeypatch.setattr(app.audio_io, "load_audio", lambda *args: pytest.fail("the speech was decoded"))
    monkeypatch.setattr(app, "decoded_audio_seconds", lambda *args, **kwargs: pytest.fail("the speech was decoded"))
    long_speech = write_opus(tmp_path / "long.ogg", 300)
    with pytest.raises(gr.Error, match=r"the speech is 300.0 s long; this Space takes at most 30 s"):
        app.animate(astronaut, str(long_speech), 1.0, 1.0, False)
    with pytest.raises(gr.Error, match=r"the speech is 300.0 s long"):
        app.dub(str(long_speech), str(long_speech))


def test_speech_whose_header_gives_no_length_is_decoded_only_past_the_limit(app, astronaut, tmp_path, monkeypatch):
    from talkhead.io.audio import decoded_audio_seconds

    monkeypatch.setattr(app, "models", lambda: pytest.fail("the models were reached"))
    monkeypatch.setattr(app.audio_io, "load_audio", lambda *args: pytest.fail("the speech was decoded whole"))
    live = write_opus(tmp_path / "live.webm", 60, live="1")  # a live recording's webm: no duration in its header
    with av.open(str(live)) as container:
        assert container.duration is None and container.streams.audio[0].duration is None
    assert 30 < decoded_audio_seconds(live, stop_after=30) < 30.2 and 59.9 < decoded_audio_seconds(live, 100) < 60.1
    with pytest.raises(gr.Error, match=r"the speech is longer than 30 s; this Space takes at most 30 s"):
        app.animate(astronaut, str(live), 1.0, 1.0, False)


def test_a_video_is_refused_from_its_header_before_a_frame_is_decoded(app, astronaut, tmp_path, monkeypatch):
    from ..conftest import write_av

    wide = write_av(tmp_path / "wide.mp4", [np.pad(astronaut, ((0, 0), (400, 400), (0, 0)))] * 5)
    monkeypatch.setattr(app, "probe_video", lambda *args: pytest.fail("a frame was decoded"))
    with pytest.raises(gr.Error, match=r"the video is 1312x512; this Space takes at most 1280 pixels"):
        app.check_video(str(wide))


def test_a_video_whose_header_gives_no_length_is_decoded_only_past_the_limit(app, astronaut, tmp_path, monkeypatch):
    from talkhead.io.video_probe import decoded_video_seconds

    from ..conftest import face_frame

    live = tmp_path / "live.mkv"  # a live recording's matroska: no duration in its header
    with av.open(str(live), "w", options={"live": "1"}) as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width = stream.height = 64
        stream.pix_fmt = "yuv420p"
        for index in range(50):
            frame = av.VideoFrame.from_ndarray(face_frame(astronaut, 64), format="rgb24")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    with av.open(str(live)) as container:
        assert container.duration is None and container.streams.video[0].duration is None
    assert 0.5 < decoded_video_seconds(live, stop_after=0.5) < 0.6 and decoded_video_seconds(live, 10) == 2.0
    monkeypatch.setattr(app, "MAX_SECONDS", 1.5)
    with pytest.raises(gr.Error, match=r"the video is longer than 1.5 s; this Space dubs at most 1.5 s"):
        app.check_video(str(live))


def test_a_result_without_a_face_comes_back_unscored(app, tmp_path):
    from talkhead.io.video_writer import write_video

    video = write_video(
        tmp_path / "gray.mp4", [np.full((96, 96, 3), 128, np.uint8)] * 10, audio=np.zeros(6400, np.float32)
    )
    text, plot = app.score_outputs(str(video))
    assert (
        text.startswith("**verdict: cannot tell: a face was found in only 0 of 10 frames of gray.mp4") and plot is None
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (see the module docstring)")
    if not (CHROMIUM.exists() or shutil.which("chromium")) or not CHROMEDRIVER.exists():
        pytest.skip("Chromium or /usr/bin/chromedriver is absent: apt-get install -y chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1800"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=str(CHROMEDRIVER)))
    yield driver
    driver.quit()


@pytest.mark.slow
def test_talking_head_tab_in_a_browser(app, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    port = free_port()
    demo = app.build_demo()  # makes the example files (the lip-sync example renders a video once)
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        browser.get(f"http://127.0.0.1:{port}/")
        wait = WebDriverWait(browser, 60)
        wait.until(ready.element_to_be_clickable((By.XPATH, "//button[normalize-space()='Generate']")))
        rows = [
            row
            for row in browser.find_elements(By.CSS_SELECTOR, "[data-testid='dataset-cell-0-0']")
            if row.is_displayed()
        ]
        assert rows, "no example row in the talking-head tab"
        rows[0].click()  # the astronaut and the speech sample
        time.sleep(2)
        browser.find_element(By.XPATH, "//button[normalize-space()='Generate']").click()
        source = WebDriverWait(browser, 300).until(
            lambda driver: driver.execute_script(
                "const v = document.querySelector('#talking-head-video video'); return v && v.currentSrc;"
            )
        )
        with urllib.request.urlopen(source, timeout=30) as response:
            assert response.status == 200 and len(response.read()) > 10_000
        score = wait.until(lambda driver: driver.find_element(By.ID, "talking-head-score").text)
        assert "offset" in score and "confidence" in score
    finally:
        demo.close()


def test_two_requests_in_flight_get_the_same_answers_every_round(app, short_speech, tmp_path, astronaut):
    """The Space answers the same request the same way every round (the phone decoders keep no state between
    requests): two gradio_client jobs in flight at once, three rounds, each gets what a direct lip_sync call gives.
    An upload over the limit is refused, and the queue is bounded."""
    from gradio_client import Client, handle_file

    from talkhead.io.video import read_video

    from ..conftest import talking_video

    video = talking_video(tmp_path / "face.mp4", astronaut, num_frames=25)
    reversed_speech = tmp_path / "reversed.wav"
    wave, rate = soundfile.read(short_speech, dtype="float32")
    soundfile.write(str(reversed_speech), wave[::-1], rate)
    speeches = [short_speech, str(reversed_speech)]
    expected = [
        read_video(
            app.lip_sync(
                str(video),
                speech,
                tmp_path / f"direct{i}.mp4",
                app.models().lip_sync,
                app.LipSyncOptions(progress=False),
            ).video
        )
        for i, speech in enumerate(speeches)
    ]
    big = tmp_path / "big.mp4"
    big.write_bytes(np.random.default_rng(0).integers(0, 255, 21 * 2**20, np.uint8).tobytes())  # 21 MB of noise
    port = free_port()
    demo = app.build_demo()
    app.launch(demo, server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        with pytest.raises(Exception, match="(?i)file size|too large|exceeds") as refused:
            client.predict(handle_file(str(big)), handle_file(short_speech), api_name="/lip_sync")
        assert "20971520 bytes" in str(refused.value)  # MAX_UPLOAD (the path in it is the client's own file)
        import httpx  # the server refuses it too, whatever the client checks

        with big.open("rb") as upload:
            reply = httpx.post(f"http://127.0.0.1:{port}/gradio_api/upload", files={"files": upload}, timeout=60)
        assert reply.status_code == 413 and "/tmp" not in reply.text, (reply.status_code, reply.text[:200])
        for _ in range(3):
            jobs = [
                client.submit(handle_file(str(video)), handle_file(speech), api_name="/lip_sync") for speech in speeches
            ]
            for job, frames in zip(jobs, expected, strict=False):
                answer = job.result(timeout=300)[0]
                np.testing.assert_array_equal(
                    read_video(answer["video"] if isinstance(answer, dict) else answer), frames
                )
        assert demo._queue.max_size == app.QUEUE_SIZE and app.CONCURRENT_RENDERS == 2
    finally:
        demo.close()
