"""The Space's Live tab (spaces/talkhead/live_tab.py): its handlers on a tiny made-up face video, and (opt-in) the
tab in a browser whose microphone plays a speech file.

The browser test (``pytest -m slow tests/spaces/test_live_tab.py``) needs what the other browser test needs
(tests/spaces/test_app.py: Chromium, its driver and selenium) and ffmpeg, through which Gradio streams video:

    apt-get install -y chromium chromium-driver ffmpeg
"""

from __future__ import annotations

import importlib.util
import math
import re
import shutil
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile

from .test_app import APP, CHROMEDRIVER, CHROMIUM, free_port

gr = pytest.importorskip("gradio")

LATENCY = re.compile(r"latency: (\d+) ms\b.*?median (\d+) ms, at most (\d+) ms", re.S)
FRAMES_OUT = re.compile(r"(\d+) frames out")


@pytest.fixture(scope="module")
def app():
    spec = importlib.util.spec_from_file_location("talkhead_space_app_live", APP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def live(app):
    """The live_tab module (app.py puts its folder on sys.path and imports it)."""
    return sys.modules[app.LiveTab.__module__]


@pytest.fixture(scope="module")
def tab(app):
    return app.LiveTab(app.check_video, app.check_speech, app.user_errors)


@pytest.fixture(scope="module")
def face_video(astronaut, tmp_path_factory) -> str:
    """3 s of the astronaut drifting (192x192): enough for the shortest idle loop (2 s)."""
    from ..conftest import talking_video

    return str(talking_video(tmp_path_factory.mktemp("live") / "face.mp4", astronaut, num_frames=75, size=192))


@pytest.fixture(scope="module")
def speech_2s(app, tmp_path_factory) -> str:
    """The first 2 s of the repository's speech sample."""
    wave, rate = soundfile.read(str(app.SPEECH), dtype="float32")
    path = tmp_path_factory.mktemp("live_speech") / "speech_2s.wav"
    soundfile.write(str(path), wave[: 2 * rate], rate)
    return str(path)


@pytest.fixture
def session(tab, face_video):
    """A freshly prepared avatar's session (each test streams from frame 0)."""
    return tab.prepare(face_video)[0]


def read_segments(segments) -> list[dict]:
    """Each (segment, latency text) as it is yielded: its frames, audio, text, and whether the one before it was
    deleted by then (Gradio has read a segment before it asks for the next)."""
    seen, previous = [], None
    for path, text in segments:
        with av.open(path) as container:
            frames = sum(1 for _ in container.decode(video=0))
            audio = float(container.streams.audio[0].duration * container.streams.audio[0].time_base)
        seen.append(
            {"frames": frames, "audio": audio, "text": text, "previous_gone": not Path(previous or "").is_file()}
        )
        previous = path
    return seen


def test_preparing_an_avatar_keeps_it_with_a_stream_and_says_what_it_is(tab, face_video, live):
    session, note = tab.prepare(face_video)
    assert isinstance(session, live.LiveSession) and session.avatar.fps == 25.0
    assert session.avatar.config["size"] == [192, 192] and session.stream.frames_made == 0
    assert note.startswith("avatar ready: 192x192, a ") and "mouths pooled" in note
    held = session.stream.latency_frames
    assert f"holds back {held} frames ({held * 40} ms)" in note


def test_a_file_played_live_comes_out_as_segments_as_long_as_the_speech(tab, session, speech_2s, live, tmp_path):
    live_folder = tmp_path / "live"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(live, "SEGMENTS", live_folder)
        segments = read_segments(tab.play_file(session, speech_2s))
    frames = sum(segment["frames"] for segment in segments)
    held = session.stream.latency_frames
    assert abs(frames - 2.0 * 25) <= held + 1, (frames, held)  # the speech's 50 frames, its end flushed
    assert len(segments) >= 2 and all(segment["frames"] for segment in segments)
    for segment in segments:  # each segment carries its frames' own audio, 40 ms a frame
        assert abs(segment["audio"] - segment["frames"] / 25) < 0.05, segment
    assert all(segment["previous_gone"] for segment in segments)
    assert not any(live_folder.iterdir())  # the player's folder went when it stopped
    last = LATENCY.search(segments[-1]["text"])
    assert last and all(math.isfinite(float(value)) for value in last.groups())
    assert f"segment {len(segments)}:" in segments[-1]["text"]
    assert FRAMES_OUT.search(segments[-1]["text"]).group(1) == str(frames)


def test_microphone_chunks_at_the_browsers_rate_reach_the_player(tab, session, speech_2s):
    """The page's microphone: 48 kHz int16 chunks of 0.1 s filed by the stream handler, the recording stopped, and
    the player started with it. An earlier recording's end, left over, does not stop this one."""
    from talkhead.io.audio import resample

    tab.stop_listening(session)  # a recording that ended before its player took anything
    wave, rate = soundfile.read(speech_2s, dtype="float32")
    browser = (resample(wave[: int(1.5 * rate)], rate, 48000) * 32767).astype(np.int16)
    for start in range(0, len(browser), 4800):
        tab.hear((48000, browser[start : start + 4800]), session)
    tab.hear(None, session)  # a call without audio is let pass
    tab.stop_listening(session)
    segments = read_segments(tab.play_microphone(session))
    frames = sum(segment["frames"] for segment in segments)
    assert abs(frames - 1.5 * 25) <= session.stream.latency_frames + 1, frames


def test_a_newer_player_takes_the_stream_over(session, live, tmp_path, monkeypatch):
    """A file played during a recording (or the other way round): the older player stops, the newer one streams."""
    monkeypatch.setattr(live, "SEGMENTS", tmp_path)
    with live.Player(session) as recording:
        assert not recording.stopped and session.player is recording
        with live.Player(session) as file:
            assert recording.stopped and not file.stopped
        assert session.player is None
    assert not any(tmp_path.iterdir())  # both players' folders went


def test_without_an_avatar_or_with_a_bad_video_the_errors_say_what_to_do(tab, session, speech_2s, tmp_path):
    from ..conftest import talking_video, write_av

    for player in (tab.play_file(None, speech_2s), tab.play_microphone(None)):
        with pytest.raises(gr.Error, match=r"No avatar is prepared yet: .* press 'Prepare avatar' first"):
            next(player)
    assert tab.hear((48000, np.zeros(4800, np.int16)), None) is None  # the player reports it, once
    with pytest.raises(gr.Error, match="Give a video of one face"):
        tab.prepare(None)
    with pytest.raises(gr.Error, match="Give a speech file to play"):
        next(tab.play_file(session, None))

    from skimage import data, io

    photo = tmp_path / "photo.png"
    io.imsave(photo, data.astronaut(), check_contrast=False)
    with pytest.raises(gr.Error) as error:
        tab.prepare(str(photo))
    assert error.value.message.startswith("photo.png is a still image") and "Talking head tab" in error.value.message
    gray = write_av(tmp_path / "gray.mp4", [np.full((96, 96, 3), 128, np.uint8)] * 30)
    with pytest.raises(gr.Error) as error:
        tab.prepare(str(gray))
    assert "no face found" in error.value.message and str(tmp_path) not in error.value.message
    wide = talking_video(tmp_path / "wide.mp4", data.astronaut(), num_frames=5, size=800)
    with pytest.raises(gr.Error, match=r"800x800; a live avatar is at most 720 pixels"):
        tab.prepare(str(wide))


def test_the_live_api_names_every_value_and_the_microphone_stays_on_the_page(app, monkeypatch):
    monkeypatch.setattr(app, "example_files", lambda: {"photo": None, "speech": None, "video": None})
    demo = app.build_demo()
    endpoints = demo.get_api_info()["named_endpoints"]
    live_endpoints = {name: endpoint for name, endpoint in endpoints.items() if name.startswith("/live")}
    assert set(live_endpoints) == {"/live_prepare", "/live_file"}
    labels = [part["label"] for e in live_endpoints.values() for part in e["parameters"] + e["returns"]]
    assert not [label for label in labels if re.fullmatch(r"(value|parameter)_\d+", label)], labels
    assert {part["label"] for part in live_endpoints["/live_file"]["returns"]} == {"live avatar", "latency"}
    microphone = [fn for fn in demo.fns.values() if any(event == "stream" for _, event in fn.targets)]
    assert len(microphone) == 1 and microphone[0].time_limit and microphone[0].api_visibility == "private"


@pytest.fixture
def microphone_browser(tmp_path, app):
    """Headless Chromium whose microphone plays the repository's speech sample (looped), allowed to autoplay."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (see test_app.py)")
    if not (CHROMIUM.exists() or shutil.which("chromium")) or not CHROMEDRIVER.exists():
        pytest.skip("Chromium or /usr/bin/chromedriver is absent: apt-get install -y chromium chromium-driver")
    if not (shutil.which("ffmpeg") and shutil.which("ffprobe")):
        pytest.skip("ffmpeg is absent (Gradio streams video through it): apt-get install -y ffmpeg")
    speech = shutil.copy(app.SPEECH, tmp_path / "microphone.wav")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1400,1800",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={speech}",
        "--autoplay-policy=no-user-gesture-required",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=str(CHROMEDRIVER)))
    yield driver
    driver.quit()


def shown_latency(driver, segments: int = 8) -> str | None:
    """The Live tab's latency note once it reports ``segments`` segments (the first ones pay for the start)."""
    from selenium.webdriver.common.by import By

    text = driver.find_element(By.ID, "live-latency").text
    shown = re.search(r"segment (\d+):", text)
    return text if shown and int(shown.group(1)) >= segments and LATENCY.search(text) else None


def visible(driver, xpath: str):
    from selenium.webdriver.common.by import By

    return next((element for element in driver.find_elements(By.XPATH, xpath) if element.is_displayed()), None)


@pytest.mark.slow
def test_the_live_tab_lip_syncs_the_microphone_in_a_browser(
    app, microphone_browser, face_video, speech_2s, monkeypatch
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser = microphone_browser
    monkeypatch.setattr(app, "example_files", lambda: {"photo": None, "speech": speech_2s, "video": face_video})
    port = free_port()
    demo = app.build_demo()
    app.launch(demo, server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        browser.get(f"http://127.0.0.1:{port}/")
        wait = WebDriverWait(browser, 60)
        wait.until(lambda driver: visible(driver, "//button[@role='tab'][normalize-space()='Live']")).click()
        # the example row: the tiny face video and a speech file
        wait.until(lambda driver: visible(driver, "//*[@data-testid='dataset-cell-0-0']")).click()
        time.sleep(2)
        visible(browser, "//button[normalize-space()='Prepare avatar']").click()
        wait.until(lambda driver: "avatar ready" in driver.find_element(By.ID, "live-status").text)
        status = browser.find_element(By.ID, "live-status").text
        visible(browser, "//button[normalize-space()='Record']").click()
        text = WebDriverWait(browser, 120).until(shown_latency)
        decoded = WebDriverWait(browser, 30).until(
            lambda driver: driver.execute_script(
                "const video = document.querySelector('#live-video video');"
                "return video && video.getVideoPlaybackQuality().totalVideoFrames;"
            )
        )
        visible(browser, "//button[normalize-space()='Stop']").click()
        latest, median, worst = (int(value) for value in LATENCY.search(text).groups())
        frames_out = int(FRAMES_OUT.search(text).group(1))
        print(f"\nLive tab in Chromium: {status}\n{text}\nthe page's player decoded {decoded} frames")
        assert frames_out > 0 and decoded > 0  # frames were made, sent, and played in the page
        assert all(math.isfinite(value) for value in (latest, median, worst))  # reported, not judged
    finally:
        demo.close()
