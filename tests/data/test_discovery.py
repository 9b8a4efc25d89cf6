import cv2
import numpy as np
import pytest

from talkhead.data.discovery import discover
from talkhead.errors import TalkheadInputError

from ..conftest import face_frame, talking_video, write_wav


@pytest.fixture()
def quirky_folder(tmp_path, astronaut):
    """The pairing layouts of ../shared/data/README.md, in miniature."""
    root = tmp_path / "raw"
    # styletalk: silent video/x.mp4 with its speech in ../wav/x.wav
    (root / "styletalk" / "video").mkdir(parents=True)
    (root / "styletalk" / "wav").mkdir()
    talking_video(root / "styletalk" / "video" / "obama.mp4", astronaut, 30, with_audio=False)
    write_wav(root / "styletalk" / "wav" / "obama.wav", np.zeros(16000, np.float32))
    # EDTalk: silent mouth_source.mp4 beside mouth_source.wav, plus unrelated stills
    (root / "edtalk").mkdir()
    talking_video(root / "edtalk" / "mouth_source.mp4", astronaut, 30, with_audio=False)
    write_wav(root / "edtalk" / "mouth_source.wav", np.zeros(16000, np.float32))
    for name in ("identity_source.jpg", "uncrop_face.jpg"):
        cv2.imwrite(str(root / "edtalk" / name), face_frame(astronaut, 64))
    # PC-AVS: a folder of numbered frames whose speech is Audio_Source/<id>.mp3 (really PCM)
    frames = root / "pcavs" / "Mouth_Source" / "6816"
    frames.mkdir(parents=True)
    for i in range(3):
        cv2.imwrite(str(frames / f"{i:06d}.jpg"), face_frame(astronaut, 64))
    (root / "pcavs" / "Audio_Source").mkdir()
    write_wav(root / "pcavs" / "Audio_Source" / "6816.mp3", np.zeros(16000, np.float32))
    # a same-stem decoy further away must lose against the nearest audio
    write_wav(root / "styletalk" / "6816.wav", np.zeros(1600, np.float32))
    # a video with its own track, a speech-only file, a corrupt file, an unpaired silent video, a non-media file
    (root / "misc").mkdir()
    talking_video(root / "misc" / "with_track.mp4", astronaut, 30)
    write_wav(root / "misc" / "speech_only.wav", np.zeros(1600, np.float32))
    (root / "misc" / "broken.mp4").write_bytes(b"not a video" * 20)
    talking_video(root / "misc" / "lonely.mp4", astronaut, 30, with_audio=False)
    (root / "misc" / "notes.md").write_text("hello")
    return root


def test_pairing_quirks_and_reasons(quirky_folder):
    found = discover([quirky_folder])
    pairs = {
        clip.clip_id: (clip.audio.relative_to(quirky_folder).as_posix() if clip.audio else None) for clip in found.clips
    }
    assert pairs == {
        "obama": "styletalk/wav/obama.wav",
        "mouth_source": "edtalk/mouth_source.wav",
        "6816": "pcavs/Audio_Source/6816.mp3",
        "with_track": None,
    }
    sources = {clip.clip_id: clip.source for clip in found.clips}
    assert sources == {"obama": "styletalk", "mouth_source": "edtalk", "6816": "pcavs", "with_track": "misc"}
    reasons = {path.name: reason for path, reason in ((s.path, s.reason) for s in found.skipped)}
    assert set(reasons) == {"broken.mp4", "lonely.mp4"}
    assert "broken.mp4" in reasons["broken.mp4"] and "no audio" in reasons["lonely.mp4"]
    assert sorted(p.name for p in found.unused_audio) == ["6816.wav", "speech_only.wav"]
    assert sorted(p.name for p in found.stills) == ["identity_source.jpg", "uncrop_face.jpg"]
    assert found.ignored == 1


def test_colliding_stems_get_their_path_as_clip_id(tmp_path, astronaut):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        talking_video(tmp_path / folder / "clip.mp4", astronaut, 10)
    ids = sorted(c.clip_id for c in discover([tmp_path]).clips)
    assert ids == ["a/clip", "b/clip"]


def test_empty_or_missing_inputs_are_clear_errors(tmp_path):
    with pytest.raises(TalkheadInputError, match="no videos found"):
        discover([tmp_path])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        discover([tmp_path / "nope"])


def test_a_named_pipe_or_a_link_loop_in_the_input_is_skipped_with_its_reason(tmp_path, astronaut):
    """Probing an empty named pipe would wait for a writer for good; a link loop is no folder of frames."""
    import os

    root = tmp_path / "raw"
    root.mkdir()
    talking_video(root / "good.mp4", astronaut, 30)
    os.mkfifo(root / "pipe.mp4")
    (root / "loop.mp4").symlink_to("loop.mp4")
    found = discover([root])
    assert [clip.video.name for clip in found.clips] == ["good.mp4"]
    reasons = {path.name: reason for path, reason in ((s.path, s.reason) for s in found.skipped)}
    assert "named pipe (FIFO), not a video" in reasons["pipe.mp4"]
    assert "symbolic link that leads back to itself" in reasons["loop.mp4"]
