"""Lip-sync's report says what the speech was heard as: the recogniser's words or the phone loop, per language, in the
result, its JSON, the pipeline's dict and the command's summary line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from talkhead.cli import main
from talkhead.io.audio import load_audio
from talkhead.options import LipSyncOptions
from talkhead.pipelines.lip_sync import lip_sync
from talkhead.processing.phones import phones_available

from ...conftest import talking_video, write_wav
from ..conftest import save_listening_mouth_model

pytestmark = pytest.mark.skipif(not phones_available(), reason="pocketsphinx is not installed")
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def listening_mouth_model(tmp_path_factory):
    return save_listening_mouth_model(tmp_path_factory.mktemp("listening mouth motion"), output_gain=30.0)


@pytest.fixture(scope="module")
def video(tmp_path_factory, astronaut):
    return talking_video(tmp_path_factory.mktemp("video") / "talking.mp4", astronaut, num_frames=30)


@pytest.fixture(scope="module")
def english_speech(tmp_path_factory):
    """The first 2 s of the example speech: English the recogniser understands ("hello i am ...")."""
    wave = load_audio(ROOT / "examples" / "assets" / "speech.wav")[:32000]
    return write_wav(tmp_path_factory.mktemp("speech") / "english.wav", wave)


def test_the_result_says_en_took_the_words(video, listening_mouth_model, english_speech, tmp_path):
    from talkhead.pipelines.loading import load_lip_sync_models

    models = load_lip_sync_models(str(listening_mouth_model))
    result = lip_sync(video, english_speech, tmp_path / "en.mp4", models, LipSyncOptions(progress=False, language="en"))
    heard = result.heard
    assert heard.language == "en" and heard.decoder == "words" and heard.path == "words" and heard.text
    assert heard.phone_count > 5 and len(heard.pieces) == 1 and heard.pieces[0].took_words
    report = result.to_dict()["heard"]
    assert report["path"] == "words" and report["text"] == heard.text and report["pieces"][0]["path"] == "words"
    json.dumps(report)  # the --json report holds it as it is


def test_the_command_prints_and_saves_that_fr_took_the_phone_loop(
    video, listening_mouth_model, english_speech, tmp_path, capsys
):
    """The same English speech under --language fr: the mouth moves either way, so only the report can say that no
    words were used."""
    arguments = ["lip-sync", "--video", str(video), "--audio", str(english_speech), "-o", str(tmp_path / "fr.mp4")]
    arguments += ["--mouth-model", str(listening_mouth_model), "--language", "fr", "--quiet"]
    assert main([*arguments, "--json", str(tmp_path / "fr.json")]) == 0
    report = json.loads((tmp_path / "fr.json").read_text())["heard"]
    assert report["language"] == "fr" and report["path"] == "phone loop" and report["text"] == ""
    assert report["pieces"] == [] and report["phone_count"] > 5
    assert len(report["phones"].split()) == report["phone_count"] and "SIL" not in report["phones"]
    lines = capsys.readouterr().out.splitlines()
    assert f"  heard (language fr -> phone loop): {report['phone_count']} phones" in lines


def test_the_pipelines_dict_says_what_auto_took(video, listening_mouth_model, english_speech):
    from transformers import pipeline

    import talkhead.pipelines  # noqa: F401  (registers the tasks)

    dubber = pipeline("lip-sync", model=str(listening_mouth_model))
    report = dubber({"video": str(video), "audio": str(english_speech)}, progress=False)
    heard = report["heard"]
    assert heard["language"] == "auto" and heard["min_confidence"] == pytest.approx(0.45)
    assert heard["path"] == "words" and heard["pieces"][0]["confidence"] >= heard["min_confidence"]
