"""Every code block of the quick starts (README.md, docs/index.md) and of the tutorials, run as a reader runs it.

Each page's blocks run in order in one folder (a later block reads what an earlier one wrote): ```bash blocks with
``bash -e`` and the virtual environment first on PATH, ```python blocks with ``exec`` in one namespace per page. The
folder holds tiny real inputs under the names the page uses (``INPUTS``: the astronaut talking for 2.4 s as
``video.mp4``, speech-like sound as ``speech.wav``, ...), so the blocks run as written; only step counts and the like
are cut (``SUBSTITUTIONS``). Blocks that take long, or repeat a command the default suite already runs, are ``slow``
(``pytest -m slow``); a block that cannot run here is in ``SKIPPED`` with the reason, and a test checks that every
block is run or skipped, so a new one cannot slip past.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import contract_dataset, speech_like, talking_video, write_wav
from tests.test_docs import shell_lines, talkhead_invocations

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = sorted((ROOT / "docs" / "tutorials").glob("*.md"))
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
SHELL = {"bash", "sh", "shell", "console"}
NOT_CODE = {"text"}  # sample output: nothing to run
PROGRAMS = ("ffmpeg",)  # outside the virtual environment: a block that calls a missing one is skipped


def quick_start(path: Path) -> str:
    text = path.read_text()
    start = text.index("\n## Quick start\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


PAGES = {
    "README.md": quick_start(ROOT / "README.md"),
    "docs/index.md": quick_start(ROOT / "docs" / "index.md"),
    **{str(page.relative_to(ROOT)): page.read_text() for page in TUTORIALS},
}


@dataclass(frozen=True)
class Block:
    page: str
    index: int
    language: str
    code: str

    def __str__(self) -> str:
        return f"{self.page}, block {self.index} ({self.language}): {self.code.strip().splitlines()[0]}"


def blocks_of(page: str) -> list[Block]:
    fences = [match.groups() for match in FENCE.finditer(PAGES[page])]
    return [Block(page, index, language, code) for index, (language, code) in enumerate(fences)]


BLOCKS = [block for page in PAGES for block in blocks_of(page)]
CODE_BLOCKS = [block for block in BLOCKS if block.language not in NOT_CODE]

# (page, a string only its block holds) -> why. Keyed by content, not index, so inserting a block moves nothing.
SKIPPED = {
    ("README.md", "spaces/talkhead/app.py"): "serves the demo until a browser closes it; tests/spaces runs the app",
    ("docs/tutorials/build-a-dataset.md", "--push-to-hub"): "uploads to the Hub",
}
# Each talkhead process costs 10-20 s on two busy cores: the default suite runs every command once, and the blocks
# that repeat a command already run by default (the README's quick start first) are slow with the long ones.
SAME_AS_README = "runs a command the README's quick start runs by default, with the same options"
SLOW_PAGES = {
    "docs/index.md": "the README's quick start, which runs by default: the same commands and the same pipelines",
    "docs/tutorials/build-a-dataset.md": "preprocesses videos with dlib and pocketsphinx, four processes at once",
    "docs/tutorials/train.md": "ten training runs",
    "docs/tutorials/train-at-scale.md": "preprocessing shards with word phones, then two streaming training processes",
    "docs/tutorials/dub-a-video.md": "lip-sync with other face and gap options: the pipeline tests run them by default",
    "docs/tutorials/measure-sync.md": "the sync measures and converters, which tests/evaluation runs by default",
}
SLOW = {
    ("docs/tutorials/dub-a-video.md", "--video video.mp4 --audio speech.wav -o dubbed.mp4\n"): SAME_AS_README,
    ("docs/tutorials/dub-a-video.md", "skimage.io.imsave"): "a talking photo and its dubbing, one after the other",
    ("docs/tutorials/talking-photo.md", "--audio speech.wav -o talking.mp4\n"): SAME_AS_README,
    ("docs/tutorials/talking-photo.md", "skimage.io.imsave"): SAME_AS_README,
    ("docs/tutorials/live-avatar.md", "--audio speech.wav -o live.mp4"): SAME_AS_README,
    ("docs/tutorials/live-avatar.md", "benchmark live"): "a benchmark: preprocesses clips, then streams in real time",
    ("docs/tutorials/measure-sync.md", "--plot confidence.png"): "four evaluations with every metric",
}

# name in the page -> the input made for it (InputFactory's methods). The pages' own placeholders stay as written.
MEDIA = {"photo.jpg": "photo", "speech.wav": "speech", "video.mp4": "video"}
INPUTS = {
    "README.md": MEDIA,
    "docs/index.md": MEDIA,
    # the example speech of a clone is 6 s; 2 s of speech say the same about the commands at a third of the cost
    "docs/tutorials/dub-a-video.md": {
        "video.mp4": "video",
        "interview.mp4": "video",
        "talking.mp4": "video",  # the slow block before the python one makes it
        "speech.wav": "speech",
        "examples/assets/speech.wav": "speech",
    },
    "docs/tutorials/talking-photo.md": {
        "photo.jpg": "photo",
        "face.jpg": "photo",
        "astronaut.png": "astronaut_png",  # the slow block before the python one makes it
        "speech.wav": "speech",
        "examples/assets/speech.wav": "speech",
    },
    "docs/tutorials/live-avatar.md": {"video.mp4": "video", "speech.wav": "speech", "DATASET": "preprocessed"},
    "docs/tutorials/measure-sync.md": {
        "speech.wav": "speech",
        "dubbed.mp4": "video",
        "talking.mp4": "video",
        "talk.mp4": "video",
        "motion.npz": "motion",
        # random weights under the released files' names and layouts (tests/models), and tiny converted ones
        "syncnet_v2.model": "syncnet_v2_release",
        "base_vox_433h.pt": "av_hubert_release",
        "checkpoints": "converted_checkpoints",
    },
    "docs/tutorials/build-a-dataset.md": {"path/to/videos": "videos"},
    "docs/tutorials/train.md": {"data/my-dataset": "dataset", "examples": "examples"},
    "docs/tutorials/train-at-scale.md": {"/data/voxceleb2/dev/mp4": "videos", "examples": "examples"},
}

# The tiny presets and one or two steps, as tests/examples/ run each script (a later flag overrides an earlier one).
QUICK = "--max_steps 1 --validation_steps 1 --checkpointing_steps 1 --logging_steps 1 --report_to none"
TINY_RUNS = {
    "train_mouth_motion.py": "--model_config tiny --batch_size 2 --window 30",
    "train_mouth_sync.py": "--model_config tiny --batch_size 2 --validation_samples 4",
    "train_syncers.py": "--model_config tiny --group_size 4 --clips_per_batch 2",
    "train_ms_sync.py": "--generator_config tiny --discriminator_config tiny --sequence_length 30 --batch_size 2"
    " --validation_clip_frames 40",
    "train_avsyncnet.py": "--model_config tiny --batch_size 4 --validation_samples 8",
    "train_stable_sync.py": "--generator_config tiny --discriminator_config tiny --batch_size 2 --validation_samples 4",
    "train_mouth_interior.py": "--model_config tiny --batch_size 2 --validation_samples 4 --gan_start_step 1",
}
TINY = {script: (script, f"{script} {QUICK} {arguments}") for script, arguments in TINY_RUNS.items()}
RESUME = ("--resume_from_checkpoint latest", "--resume_from_checkpoint latest --max_steps 2")  # one step more
# (text in the page, what runs instead): each is checked to be found, so a changed page does not drop one silently
SUBSTITUTIONS = {
    "docs/tutorials/live-avatar.md": [("--long-seconds 600", "--long-seconds 3")],
    "docs/tutorials/train.md": [
        *TINY.values(),
        RESUME,
        ("--max_steps 250", "--max_steps 1"),
        ("SOURCE,...", "source1"),
    ],
    "docs/tutorials/train-at-scale.md": [
        TINY["train_mouth_motion.py"],
        RESUME,
        ("SPEAKER,...", "speakerA"),
        ("/shared/", "shared/"),  # the shared folder of the machines: here the page's folder
        ("--batch_size 32 --max_steps 20000", "--batch_size 2 --max_steps 1 --window 30"),
        (
            "accelerate launch ... ",
            "accelerate launch --multi_gpu --num_machines $N --num_processes $((N*P)) "
            "--machine_rank $R --main_process_ip $HOST ",
        ),  # the `...` stands for the launch options above
    ],
}
# shell variables a page leaves to the reader: one machine of two cores; two processes on it
SHELL_VARIABLES = {
    "docs/tutorials/train-at-scale.md": {"N": "1", "C": "2", "MACHINE": "0", "P": "2", "R": "0", "HOST": "127.0.0.1"}
}


# (page, key, glob) -> how many files a block must leave: its background jobs' exit statuses are lost
EXPECTED_FILES = {
    ("docs/tutorials/build-a-dataset.md", "--shard $I/4", "data/big/manifests/shard-*.json"): 4,
    ("docs/tutorials/train-at-scale.md", "--shard $I/$((N*C))", "shared/vox2/manifests/shard-*.json"): 2,
}


def live_chunks(speech_file: str) -> dict:
    """What the live-avatar page leaves to the reader: ``speech_chunks`` as they arrive, and ``show``."""
    import soundfile

    wave, _ = soundfile.read(speech_file, dtype="float32")
    return {"speech_chunks": [wave[i : i + 1234] for i in range(0, len(wave), 1234)], "show": lambda frame, audio: None}


PYTHON_NAMES = {"docs/tutorials/live-avatar.md": lambda: live_chunks("speech.wav")}


def classification(table: dict, block: Block) -> str | None:
    return next((reason for (page, key), reason in table.items() if page == block.page and key in block.code), None)


def is_slow(block: Block) -> bool:
    return block.page in SLOW_PAGES or classification(SLOW, block) is not None


def blocks_to_run(page: str, with_slow: bool) -> list[Block]:
    return [
        block
        for block in blocks_of(page)
        if block.language not in NOT_CODE and not classification(SKIPPED, block) and (with_slow or not is_slow(block))
    ]


class InputFactory:
    """The inputs, each made once per session when a page first asks for it."""

    def __init__(self, folder: Path, astronaut):
        self.folder, self.astronaut, self.made = folder, astronaut, {}

    def __getitem__(self, kind: str) -> Path:
        if kind not in self.made:
            self.made[kind] = getattr(self, kind)(self.folder / kind)
        return self.made[kind]

    def photo(self, path, suffix=".jpg"):
        import cv2

        cv2.imwrite(str(path.with_suffix(suffix)), cv2.cvtColor(self.astronaut, cv2.COLOR_RGB2BGR))
        return path.with_suffix(suffix)

    def astronaut_png(self, path):
        return self.photo(path, ".png")

    def speech(self, path):
        return write_wav(path.with_suffix(".wav"), speech_like(2.4))

    def video(self, path):
        return talking_video(path.with_suffix(".mp4"), self.astronaut, num_frames=60)

    def examples(self, path):
        return ROOT / "examples"

    def motion(self, path):
        from talkhead.cli import main

        assert (
            main(["landmarks", "--image", str(self["photo"]), "--audio", str(self["speech"]), "-o", f"{path}.npz"]) == 0
        )
        return path.with_suffix(".npz")

    def syncnet_v2_release(self, path):
        import torch

        from tests.models.test_syncnet_v2 import original_state_dict

        torch.save(original_state_dict(), path)
        return path

    def av_hubert_release(self, path):
        import torch

        from tests.models.test_av_hubert import fairseq_state_dict

        state = fairseq_state_dict(hidden=64)  # 64 wide: one attention head, as the converter infers without settings
        torch.save({"model": {f"encoder.w2v_model.{k}": v for k, v in state.items()}}, path)
        return path

    def converted_checkpoints(self, path):
        """What the page's converters write, made before the first block (which reads them) from tiny models."""
        from talkhead.models.av_hubert import AVHubertConfig, AVHubertModel
        from talkhead.models.syncnet_v2 import SyncNetV2Config, SyncNetV2Model

        SyncNetV2Model(SyncNetV2Config.from_preset("tiny")).save_pretrained(path / "syncnet-v2")
        AVHubertModel(AVHubertConfig.from_preset("tiny")).save_pretrained(path / "av-hubert-base")
        return path

    def videos(self, path):
        """Three speakers of one clip each: speakerA and speakerB are the pages' test sources."""
        for speaker in ("speakerA", "speakerB", "speakerC"):
            (path / speaker).mkdir(parents=True)
            talking_video(path / speaker / f"{speaker.lower()}.mp4", self.astronaut, num_frames=60)
        return path

    def dataset(self, path):
        return contract_dataset(path, num_clips=6, frames=60, sources=3, faces=True, mouths=True)

    def preprocessed(self, path):
        from talkhead.cli import main

        assert main(["preprocess", str(self["videos"]), "-o", str(path), "--test-sources", "speakerA"]) == 0
        return path


@pytest.fixture(scope="session")
def doc_inputs(tmp_path_factory, astronaut) -> InputFactory:
    return InputFactory(tmp_path_factory.mktemp("doc-inputs"), astronaut)


def prepared_folder(page: str, blocks: list[Block], folder: Path, inputs: InputFactory) -> Path:
    """The page's folder with the inputs its blocks name (those of the blocks that run: the others may cost)."""
    for name, kind in INPUTS.get(page, {}).items():
        if not any(name in block.code for block in blocks):
            continue
        target = folder / name.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        source = inputs[kind]
        if kind == "examples":
            target.symlink_to(source)  # the training scripts, read where a clone has them
        elif source.is_dir():
            shutil.copytree(source, target)  # copies: a block may write into its inputs
        else:
            shutil.copy2(source, target)
    return folder


def runnable_code(block: Block) -> str:
    code = block.code
    for old, new in SUBSTITUTIONS.get(block.page, []):
        code = code.replace(old, new)
    for name in INPUTS.get(block.page, {}):
        if name.startswith("/"):  # an absolute path in the page: the copy in the page's folder
            code = code.replace(name, name.lstrip("/"))
    return code


def run_page(page: str, inputs: InputFactory, folder: Path, with_slow: bool, timeout: float) -> list[Block]:
    blocks = blocks_to_run(page, with_slow)
    prepared_folder(page, blocks, folder, inputs)
    namespace = None  # made at the first python block, in the page's folder
    environment = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "TQDM_DISABLE": "1",
        **SHELL_VARIABLES.get(page, {}),
    }
    for block in blocks:
        code = runnable_code(block)
        missing = [name for name in PROGRAMS if re.search(rf"\b{name}\b", code) and not shutil.which(name)]
        if missing:
            pytest.skip(f"{block} needs {missing}, which is not installed")
        if block.language == "python":
            previous = Path.cwd()
            os.chdir(folder)
            try:
                namespace = PYTHON_NAMES.get(page, dict)() if namespace is None else namespace
                exec(compile(code, str(block), "exec"), namespace)
            except Exception as error:
                raise AssertionError(f"{block} failed: {error!r}") from error
            finally:
                os.chdir(previous)
        else:
            result = subprocess.run(
                ["bash", "-e", "-c", code], cwd=folder, env=environment, capture_output=True, text=True, timeout=timeout
            )
            output = (result.stdout + result.stderr)[-4000:]
            assert result.returncode == 0, f"{block} exited {result.returncode}:\n{code}\n{output}"
        for pattern, count in EXPECTED_FILES.items():
            if pattern[0] == page and pattern[1] in block.code:  # `wait` does not pass on a background job's failure
                assert len(list(folder.glob(pattern[2]))) == count, f"{block} left no {pattern[2]}"
    return blocks


DEFAULT_RUNS = [page for page in PAGES if blocks_to_run(page, with_slow=False)]
SLOW_RUNS = [page for page in PAGES if any(is_slow(block) for block in blocks_to_run(page, with_slow=True))]


@pytest.mark.parametrize("page", DEFAULT_RUNS)
def test_the_fast_blocks_of_the_page_run_in_order(page, doc_inputs, tmp_path):
    run_page(page, doc_inputs, tmp_path, with_slow=False, timeout=300)


@pytest.mark.slow
@pytest.mark.parametrize("page", SLOW_RUNS)
def test_every_block_of_the_page_runs_in_order(page, doc_inputs, tmp_path):
    """The page from its first block: a slow block may read what a fast one before it wrote."""
    run_page(page, doc_inputs, tmp_path, with_slow=True, timeout=1200)


def test_every_block_is_run_or_skipped_with_a_reason():
    assert len(PAGES) == 2 + len(TUTORIALS) and all(blocks_of(page) for page in PAGES)
    for block in BLOCKS:
        assert block.language in {"python", *SHELL, *NOT_CODE}, f"{block}: a language this test does not run"
    for block in CODE_BLOCKS:
        assert not (classification(SKIPPED, block) and classification(SLOW, block)), f"{block}: slow or skipped?"
    assert set(SLOW_PAGES) <= set(PAGES)
    for page, key in [*SKIPPED, *SLOW]:
        matches = [block for block in CODE_BLOCKS if block.page == page and key in block.code]
        assert len(matches) == 1, f"{page}: {key!r} names {len(matches)} blocks, not one"
    by_default = {block for page in DEFAULT_RUNS for block in blocks_to_run(page, with_slow=False)}
    slow = {block for page in SLOW_RUNS for block in blocks_to_run(page, with_slow=True) if is_slow(block)}
    left_out = [str(b) for b in CODE_BLOCKS if b not in by_default and b not in slow and not classification(SKIPPED, b)]
    assert not left_out, f"blocks no test runs: {left_out}"


def test_every_substitution_and_input_name_is_in_its_page():
    for page, substitutions in SUBSTITUTIONS.items():
        code = "".join(block.code for block in blocks_of(page))
        missing = [old for old, _ in substitutions if old not in code]
        assert not missing, f"{page} no longer has {missing}"
    for page, names in INPUTS.items():
        code = "".join(block.code for block in blocks_of(page))
        missing = [name for name in names if name not in code]
        assert not missing, f"{page} no longer names {missing}"


def test_the_shell_blocks_are_those_test_docs_reads():
    for page, text in PAGES.items():
        ours = [block.code for block in blocks_of(page) if block.language in SHELL]
        assert shell_lines("".join(f"```bash\n{code}```\n" for code in ours)) == shell_lines(text), page


def test_the_default_suite_runs_each_inference_command():
    commands = {
        arguments[0]
        for block in CODE_BLOCKS
        if block.language in SHELL and block in blocks_to_run(block.page, with_slow=False)
        for line in shell_lines(f"```bash\n{block.code}```\n")
        for arguments in talkhead_invocations(line)
    }
    assert {"talking-head", "lip-sync", "evaluate", "avatar", "live", "landmarks"} <= commands
