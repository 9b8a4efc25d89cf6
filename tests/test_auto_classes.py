"""transformers' own entry points take talkhead's shipped models with no network and no warning: ``AutoConfig`` /
``AutoModel.from_pretrained("talkhead/<name>")`` (and the short name), and the README's ``pipeline(...)`` calls."""

from __future__ import annotations

import logging
import socket
import time
import warnings
from pathlib import Path

import pytest

from talkhead import hub

from .conftest import speech_like, talking_video, write_wav

# a blocked connection makes huggingface_hub retry for about 23 s; a load from the shipped folder takes about 1 s
QUICK_SECONDS = 15


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    """Every name lookup and connection raises and is recorded; offline mode is off, the Hugging Face cache empty."""
    import huggingface_hub.constants

    attempts: list[str] = []

    def refuse(what):
        def refused(*args, **kwargs):
            attempts.append(f"{what}{args[1:] if what == 'connect' else args[:2]}")
            raise OSError(f"test: no network ({what})")

        return refused

    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(socket.socket, "connect", refuse("connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("connect"))
    for variable in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    return attempts


@pytest.mark.parametrize("name", ["talkhead/mouth-motion", "mouth-motion"])
def test_auto_classes_load_shipped_names_without_network(name, no_network):
    from transformers import AutoConfig, AutoModel

    import talkhead  # noqa: F401  (registers the models, as the README says)
    from talkhead.models.mouth_motion import MouthMotionConfig, MouthMotionModel  # imported before the clock starts

    start = time.perf_counter()
    config = AutoConfig.from_pretrained(name)
    model = AutoModel.from_pretrained(name)
    seconds = time.perf_counter() - start
    assert no_network == [] and seconds < QUICK_SECONDS
    assert isinstance(config, MouthMotionConfig) and isinstance(model, MouthMotionModel)
    assert Path(model.name_or_path) == hub.shipped_root() / "mouth-motion"


def test_a_local_folder_of_the_same_name_still_wins(tmp_path, monkeypatch, no_network):
    from transformers import AutoConfig, AutoModel

    from talkhead.models.mouth_motion import MouthMotionConfig, MouthMotionModel

    MouthMotionModel(MouthMotionConfig.from_preset("tiny")).save_pretrained(tmp_path / "mouth-motion")
    monkeypatch.chdir(tmp_path)
    assert AutoModel.from_pretrained("mouth-motion").config.hidden_size == 16
    assert AutoConfig.from_pretrained("mouth-motion").hidden_size == 16 and no_network == []


def test_resolving_is_installed_once():
    from transformers import AutoConfig, AutoModel

    from talkhead.models.configuration_utils import resolve_shipped_in_auto_class

    installed = [vars(auto_class)["from_pretrained"].__func__ for auto_class in (AutoConfig, AutoModel)]
    for auto_class in (AutoConfig, AutoModel):
        resolve_shipped_in_auto_class(auto_class)
    assert [vars(auto_class)["from_pretrained"].__func__ for auto_class in (AutoConfig, AutoModel)] == installed


def test_talkhead_pipeline_takes_an_id_without_network(no_network):
    import talkhead
    from talkhead.models.mouth_motion import MouthMotionModel

    dubbing = talkhead.pipeline("lip-sync", model="talkhead/mouth-motion")
    assert isinstance(dubbing.model, MouthMotionModel) and no_network == []


class Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(f"{record.name}: {record.getMessage()}")


@pytest.fixture
def transformers_warnings():
    """The warnings transformers logs (its loggers do not propagate to caplog's) and the Python warnings raised."""
    from transformers.utils import logging as transformers_logging

    records = Records()
    verbosity = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity_warning()  # as a user's default, whatever the environment says
    logging.getLogger("transformers").addHandler(records)
    with warnings.catch_warnings(record=True) as raised:
        warnings.simplefilter("always")
        yield records.messages, raised
    logging.getLogger("transformers").removeHandler(records)
    transformers_logging.set_verbosity(verbosity)


def test_the_readme_pipeline_calls_print_no_transformers_warning(tmp_path, astronaut, transformers_warnings):
    """The README's Python example, on a one-second photo and video."""
    import cv2
    from transformers import pipeline

    import talkhead

    photo = tmp_path / "astronaut.png"
    cv2.imwrite(str(photo), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    speech = write_wav(tmp_path / "speech.wav", speech_like(1.0))
    video = talking_video(tmp_path / "video.mp4", astronaut, num_frames=25)
    talking = pipeline("talking-head")(
        {"image": str(photo), "audio": str(speech)}, output=str(tmp_path / "talking.mp4"), output_size=256
    )
    dubbed = pipeline("lip-sync")(
        {"video": str(video), "audio": str(speech)}, output=str(tmp_path / "dubbed.mp4"), on_missing_face="interpolate"
    )
    talkhead.pipeline("lip-sync", model="stable-sync-face")
    logged, raised = transformers_warnings
    from_transformers = [str(w.message) for w in raised if "transformers" in f"{w.filename} {w.message}"]
    assert logged == [] and from_transformers == []
    assert talking["frames"] == 25 and dubbed["frames"] == 25


def test_the_default_model_notice_stays_for_other_defaults():
    """Only talkhead's shipped defaults are quieted: transformers' notice for any other default still shows."""
    from talkhead.pipelines import DEFAULT_MODEL_NOTICE, ShippedDefaultNoticeFilter

    shipped = str(hub.shipped_root() / "mouth-motion")
    quiet = ShippedDefaultNoticeFilter({shipped})

    def passes(message: str) -> bool:
        return quiet.filter(logging.LogRecord("transformers.pipelines", logging.WARNING, "", 0, message, None, None))

    assert not passes(f"{DEFAULT_MODEL_NOTICE}{shipped} and revision None.\nUsing a pipeline without ...")
    assert passes(f"{DEFAULT_MODEL_NOTICE}openai/whisper-small and revision 1234.\nUsing a pipeline without ...")
    assert passes(f"{DEFAULT_MODEL_NOTICE}{shipped}-other and revision None.")
    assert passes("Device set to use cpu")
