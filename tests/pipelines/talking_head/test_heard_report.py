"""The talking head's report says what its mouth model heard in the speech: the recogniser's words or the phone loop,
per language, in the result, its JSON and the command's summary line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from talkhead.cli import main
from talkhead.io.audio import load_audio
from talkhead.options import TalkingHeadOptions
from talkhead.pipelines.loading import TalkingHeadModels
from talkhead.pipelines.talking_head import talking_head
from talkhead.processing.phones import phones_available

from ...conftest import speech_like, write_wav
from ..conftest import save_listening_mouth_model

pytestmark = pytest.mark.skipif(not phones_available(), reason="pocketsphinx is not installed")
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def listening_mouth_model(tmp_path_factory):
    return save_listening_mouth_model(tmp_path_factory.mktemp("listening mouth motion"), output_gain=8.0)


@pytest.fixture(scope="module")
def english_speech(tmp_path_factory):
    """The first 2 s of the example speech: English the recogniser understands ("hello i am ...")."""
    wave = load_audio(ROOT / "examples" / "assets" / "speech.wav")[:32000]
    return write_wav(tmp_path_factory.mktemp("speech") / "english.wav", wave)


def test_en_takes_the_words_and_fr_the_phone_loop(
    photo, generator_path, listening_mouth_model, english_speech, tmp_path, capsys
):
    from talkhead.models.mouth_motion import MouthMotionModel
    from talkhead.pipelines.talking_head import SpeechToLandmarks

    models = TalkingHeadModels(
        SpeechToLandmarks(str(generator_path)), MouthMotionModel.from_pretrained(listening_mouth_model).eval()
    )
    english = talking_head(photo, english_speech, None, models, TalkingHeadOptions(progress=False, language="en"))
    assert english.heard.path == "words" and english.heard.text and english.heard.language == "en"
    assert english.to_dict()["heard"]["text"] == english.heard.text

    arguments = ["talking-head", "--image", str(photo), "--audio", str(english_speech), "-o", str(tmp_path / "fr.mp4")]
    arguments += ["--head-model", str(generator_path), "--mouth-model", str(listening_mouth_model)]
    arguments += ["--mouth-interior-model", "none", "--language", "fr", "--quiet", "--json", str(tmp_path / "fr.json")]
    assert main(arguments) == 0
    report = json.loads((tmp_path / "fr.json").read_text())["heard"]
    assert report["language"] == "fr" and report["path"] == "phone loop" and report["pieces"] == []
    lines = capsys.readouterr().out.splitlines()
    assert f"  heard (language fr -> phone loop): {report['phone_count']} phones" in lines


def test_nothing_is_heard_without_a_mouth_model_or_in_silence(photo, generator_path, listening_mouth_model, tmp_path):
    from talkhead.models.mouth_motion import MouthMotionModel
    from talkhead.pipelines.talking_head import SpeechToLandmarks

    head = SpeechToLandmarks(str(generator_path))
    options = TalkingHeadOptions(progress=False)
    speech = write_wav(tmp_path / "speech.wav", speech_like(1.0))
    assert talking_head(photo, speech, None, TalkingHeadModels(head), options).heard is None  # MS-Sync's own mouth
    silence = write_wav(tmp_path / "silence.wav", 0.0 * speech_like(1.0))
    mouth = MouthMotionModel.from_pretrained(listening_mouth_model).eval()
    silent = talking_head(photo, silence, None, TalkingHeadModels(head, mouth), options)
    assert silent.silent and silent.heard is None and silent.to_dict()["heard"] is None
