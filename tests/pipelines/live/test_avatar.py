"""A live avatar: prepared from a video, saved and loaded, streamed; its idle loop; its bad inputs."""

import json

import numpy as np
import pytest

from talkhead.errors import TalkheadInputError
from talkhead.pipelines.live import LipSyncAvatar
from talkhead.pipelines.live.idle_loop import choose_loop
from talkhead.processing.phones import phones_available
from tests.conftest import face_frame, speech_like, talking_video, write_av

pytestmark = pytest.mark.skipif(not phones_available(), reason="pocketsphinx is not installed")


@pytest.fixture(scope="module")
def avatar_folder(tmp_path_factory, astronaut):
    root = tmp_path_factory.mktemp("avatar")
    video = talking_video(root / "talk.mp4", astronaut, num_frames=75)
    avatar = LipSyncAvatar.from_video(video, loop_seconds=(1.0, 2.0))
    return avatar.save_pretrained(root / "avatar"), avatar


def test_an_avatar_saves_and_loads_the_same(avatar_folder):
    folder, prepared = avatar_folder
    loaded = LipSyncAvatar.from_pretrained(folder)
    assert sorted(p.name for p in folder.iterdir()) == [
        "README.md",
        "avatar.safetensors",
        "avatar_config.json",
        "loop.mp4",
    ]
    assert loaded.config == json.loads((folder / "avatar_config.json").read_text()) == prepared.config
    assert loaded.frames.shape == prepared.frames.shape
    assert np.abs(loaded.frames.astype(int) - prepared.frames).mean() < 3  # the loop is stored near lossless
    assert np.array_equal(loaded.pool.patches, prepared.pool.patches)
    assert np.allclose(loaded.pool.looks, prepared.pool.looks, atol=1e-2)
    assert np.allclose(loaded.closed, prepared.closed, atol=1e-6)
    assert 25 <= loaded.loop.length <= 50


def test_a_stream_gives_one_frame_and_its_audio_per_40_ms(avatar_folder):
    avatar = LipSyncAvatar.from_pretrained(avatar_folder[0])
    stream = avatar.stream()
    wave = speech_like(2.0)
    pairs = []
    for start in range(0, len(wave), 500):
        pairs += stream.push(wave[start : start + 500])
    assert len(pairs) == 50 - stream.latency_frames - 1  # the last frames wait for their look-ahead
    pairs += stream.end()
    assert len(pairs) == 50 + 1  # and end() lets them out, with the partial frame the padding completes
    frames, audio = zip(*pairs, strict=True)
    assert frames[0].shape == avatar.frames.shape[1:] and frames[0].dtype == np.uint8
    assert np.allclose(np.concatenate(audio)[: len(wave)], wave)  # each frame carries its own speech
    assert len(stream.idle(1.0)) == 25


def test_chunks_of_every_accepted_type_give_the_same_frames(avatar_folder):
    avatar = LipSyncAvatar.from_pretrained(avatar_folder[0])
    wave = (speech_like(1.0) * 32767).astype(np.int16)
    as_int = [f for f, _ in avatar.stream(realtime=False).push(wave)]  # frames a pure function of the speech
    as_bytes = [f for f, _ in avatar.stream(realtime=False).push(wave.tobytes())]
    as_float = [f for f, _ in avatar.stream(realtime=False).push(wave.astype(np.float32) / 32768)]
    assert len(as_int) == len(as_bytes) == len(as_float) > 0
    for a, b, c in zip(as_int, as_bytes, as_float, strict=True):
        assert np.array_equal(a, b) and np.array_equal(a, c)


@pytest.mark.parametrize(
    "chunk, rate, words",
    [
        (np.zeros(640, np.float32), 44100, "sample_rate=44100"),
        (np.zeros((640, 2), np.float32), 16000, "mono 1-D"),
        (np.zeros(640, np.int32), 16000, "dtype int32"),
        (b"\x00\x01\x02", 16000, "odd number of bytes"),
    ],
)
def test_bad_chunks_are_refused_in_one_line(avatar_folder, chunk, rate, words):
    stream = LipSyncAvatar.from_pretrained(avatar_folder[0]).stream()
    with pytest.raises(TalkheadInputError, match=words) as caught:
        stream.push(chunk, sample_rate=rate)
    assert "\n" not in str(caught.value)


def test_a_folder_that_is_no_avatar_is_refused(tmp_path):
    with pytest.raises(TalkheadInputError, match="not an avatar folder"):
        LipSyncAvatar.from_pretrained(tmp_path)
    (tmp_path / "avatar_config.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(TalkheadInputError, match="holds no avatar"):
        LipSyncAvatar.from_pretrained(tmp_path)


def test_a_photo_or_a_missing_file_cannot_be_an_avatar(tmp_path, astronaut):
    import cv2

    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), cv2.cvtColor(face_frame(astronaut), cv2.COLOR_RGB2BGR))
    with pytest.raises(TalkheadInputError, match="still image"):
        LipSyncAvatar.from_video(photo)
    with pytest.raises(TalkheadInputError, match="does not exist"):
        LipSyncAvatar.from_video(tmp_path / "nothing.mp4")


def test_a_failed_save_leaves_the_old_avatar_whole(avatar_folder, tmp_path, monkeypatch):
    folder, avatar = avatar_folder
    target = tmp_path / "kept"
    avatar.save_pretrained(target)
    before = sorted(p.name for p in target.iterdir())
    monkeypatch.setattr("talkhead.pipelines.live.avatar.avatar_card", lambda config: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        avatar.save_pretrained(target)
    assert sorted(p.name for p in target.iterdir()) == before
    assert [p.name for p in tmp_path.iterdir()] == ["kept"]  # no staging folder left behind


def _landmarks(positions):
    base = np.random.default_rng(0).uniform(0, 100, (68, 2))
    base[36:42] = [20, 50]
    base[42:48] = [80, 50]
    return np.stack([base + [x, 0] for x in positions])


def test_a_video_that_returns_to_where_it_was_loops_seamlessly():
    positions = 5 * np.sin(np.arange(200) * 2 * np.pi / 60)  # a sway with a 60-frame period
    loop = choose_loop(_landmarks(positions), np.ones(200, bool), 50, 100)
    assert not loop.bounce and loop.length in (60, 120)
    assert loop.jump <= 1.5


def test_a_video_that_drifts_away_bounces():
    loop = choose_loop(_landmarks(np.arange(200) * 0.5), np.ones(200, bool), 50, 100)
    assert loop.bounce and loop.length == 100
    order = loop.order()
    assert np.abs(np.diff(order)).max() == 1 and abs(int(order[-1]) - int(order[0])) == 1  # never a jump


def test_a_loop_stays_inside_the_frames_with_a_face():
    valid = np.ones(200, bool)
    valid[80:90] = False
    loop = choose_loop(_landmarks(np.zeros(200)), valid, 50, 100)
    assert loop.start >= 90 or loop.stop <= 80


def test_a_video_with_sound_only_in_part_still_prepares(tmp_path, astronaut):
    frames = [face_frame(astronaut, 256, (i % 3, 0)) for i in range(40)]
    video = write_av(tmp_path / "short.mp4", frames, 25, speech_like(1.6))
    avatar = LipSyncAvatar.from_video(video, loop_seconds=(0.5, 1.0))
    assert avatar.loop.length >= 12 and len(avatar.pool) > 0


def test_push_to_hub_uploads_the_saved_folder(avatar_folder, monkeypatch):
    seen = {}

    def upload(folder, repo_id, **options):
        seen.update(repo=repo_id, files=sorted(p.name for p in folder.iterdir()), options=options)
        return "https://huggingface.co/me/avatar/commit/1"

    monkeypatch.setattr("talkhead.hub.upload.upload_folder", upload)
    assert avatar_folder[1].push_to_hub("me/avatar", private=True).endswith("/commit/1")
    assert seen["repo"] == "me/avatar" and seen["options"]["private"] is True
    assert seen["files"] == ["README.md", "avatar.safetensors", "avatar_config.json", "loop.mp4"]
