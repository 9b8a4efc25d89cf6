"""The checkpoint converters given a file that is not a torch checkpoint: one line naming the file and what was
expected, never a traceback."""

from __future__ import annotations

import zipfile

import pytest

from talkhead.models.av_hubert.convert_av_hubert import main as convert_av_hubert
from talkhead.models.syncnet_v2.convert_syncnet_v2 import main as convert_syncnet_v2


def _random_bytes(path):
    path.write_bytes(bytes((i * 151 + 64) % 256 for i in range(3000)))


def _text(path):
    path.write_text("hello\n")


def _empty(path):
    path.write_bytes(b"")


def _zip_without_a_checkpoint(path):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "x")


def _legacy_header_only(path):
    path.write_bytes(b"\x80\x02\x8a\x0alZ\xfc\x9cF\xf9 j\xa8P\x19.")  # a legacy torch file's opening, cut off


@pytest.mark.parametrize(
    "make",
    [_random_bytes, _text, _empty, _zip_without_a_checkpoint, _legacy_header_only],
    ids=lambda make: make.__name__.strip("_"),
)
@pytest.mark.parametrize(
    "convert, expected",
    [(convert_av_hubert, "a fairseq AV-HuBERT checkpoint"), (convert_syncnet_v2, "syncnet_python's syncnet_v2.model")],
    ids=["av_hubert", "syncnet_v2"],
)
def test_a_file_that_is_not_a_checkpoint_is_refused_in_one_line(tmp_path, capsys, make, convert, expected):
    path = tmp_path / "model.pt"
    make(path)
    with pytest.raises(SystemExit) as stop:
        convert([str(path), str(tmp_path / "out")])
    message = str(stop.value.code) if isinstance(stop.value.code, str) else capsys.readouterr().err
    assert stop.value.code != 0
    assert message.startswith("error: ") and len(message.strip().splitlines()) == 1, message
    assert f"'{path}' is not a torch checkpoint" in message and expected in message, message
    assert not (tmp_path / "out").exists()
