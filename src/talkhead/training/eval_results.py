"""Model-index results (``huggingface_hub.EvalResult``) read from the benchmark JSON files.

A card's numbers must be machine-readable and must be the measured ones, so nothing here computes or
types a number: each reader takes one JSON file written by ``talkhead benchmark ...`` (or a script
under benchmarks/), finds the rows that belong to the named model (each JSON says which models it
measured), and turns their values into ``EvalResult``s naming the dataset split and, in the task name,
the JSON file (``source_url`` would need a public URL for it, which a local checkout does not have).
A JSON that does not mention the model gives no result.
"""

from __future__ import annotations

import json
from pathlib import Path

#: The Hub id under which the example clips' dataset (``talkhead preprocess`` of ../shared/data/raw) is described.
EXAMPLE_DATASET = "talkhead/example-clips"
EXAMPLE_DATASET_NAME = "talkhead example clips (11 min, ~50 speakers; test split = sources never trained on)"

LIPSYNC_COLUMNS = ("ssim", "psnr", "lmd", "ifc", "identity", "sync_conf", "sync_dist", "sync_off")
MS_SYNC_COLUMNS = tuple(f"av_{kind}_{level}" for level in (1, 2, 3, 4) for kind in ("off", "conf")) + ("frechet",)
MOUTH_COLUMNS = ("mouth_ssim", "mouth_psnr", "mouth_sharpness", "face_ssim")


def _result(pipeline_tag: str, task_name: str, report: dict, source: str, metric: str, value, label: str):
    """One metric. ``dataset_config`` names the protocol (the JSON file's stem): the Hub groups results by
    task type, dataset, config and split, so two protocols on the same split must differ there."""
    from huggingface_hub import EvalResult

    return EvalResult(
        task_type=pipeline_tag,
        task_name=f"{task_name} [{source}]",
        dataset_type=EXAMPLE_DATASET,
        dataset_name=EXAMPLE_DATASET_NAME,
        dataset_config=Path(source).stem,
        dataset_split=report.get("split"),
        metric_type=metric,
        metric_name=label,
        metric_value=round(float(value), 4),
    )


def _named(path_or_name: str | None) -> str | None:
    return None if path_or_name is None else Path(str(path_or_name)).name


def lipsync_results(report: dict, name: str, pipeline_tag: str, source: str) -> list:
    """``talkhead benchmark lipsync``: the model's row, mean over chunks of each Table 1 column."""
    models = {key: _named(path) for key, path in report.get("models", {}).items()}
    row = next((key for key, path in models.items() if name in (key, path)), None)
    if row is None:
        return []
    task = f"lip-sync, stabilized-sync Table 1 protocol ({report['chunks']} chunks of {report['chunk_frames']} frames)"
    return [
        _result(pipeline_tag, task, report, source, column, report["rows"][row][column]["mean"], f"{column} (mean)")
        for column in LIPSYNC_COLUMNS
        if column in report["rows"][row]
    ]


def ms_sync_results(report: dict, name: str, pipeline_tag: str, source: str) -> list:
    """``talkhead benchmark ms-sync``: |AV-Off_i|, AV-Conf_i and the Fréchet distance of the model's row."""
    models = {key: _named(path) for key, path in report.get("models", {}).items()}
    row = next((key for key, path in models.items() if name in (key, path)), None)
    if row is None:
        return []
    task = f"speech to landmarks, MS-Sync Table 3 protocol ({report['clips']} clips of {report['clip_frames']} frames)"
    return [
        _result(pipeline_tag, task, report, source, column, report["rows"][row][column]["mean"], f"{column} (mean)")
        for column in MS_SYNC_COLUMNS
        if column in report["rows"][row]
    ]


def lip_follow_results(report: dict, name: str, pipeline_tag: str, source: str) -> list:
    """``talkhead benchmark lip-follow``: the model's own row, and the pipeline rows when the pipelines used it."""
    rows = []
    if f"model:{name}" in report["rows"]:
        rows.append((f"model:{name}", "predicted mouth opening"))
    if _named(report.get("lip_sync_model")) == name:
        rows += [(row, f"through the pipelines ({row})") for row in ("own", "cross", "photo") if row in report["rows"]]
    task = f"mouth motion from speech, lip-follow ({len(report['clips'])} clips)"
    return [
        _result(
            pipeline_tag, task, report, source, metric, report["rows"][row][metric]["mean"], f"{metric}, {label} (mean)"
        )
        for row, label in rows
        for metric in ("lip_follow", "std_ratio")
        if metric in report["rows"][row]
    ]


def mouth_results(report: dict, name: str, pipeline_tag: str, source: str) -> list:
    """``talkhead benchmark mouth``: row ``lipsync`` for the lip-sync model, ``paper_generator`` for the paper's G_L."""
    row = {
        _named(report.get("lip_sync_model")): "lipsync",
        _named(report.get("paper_generator")): "paper_generator",
    }.get(name)
    if row is None or row not in report["rows"]:
        return []
    task = (
        f"lip-sync mouth quality at video resolution ({len(report['clips'])} clips, "
        f"first {report['max_frames']} frames)"
    )
    return [
        _result(pipeline_tag, task, report, source, column, report["rows"][row][column], f"{column} ({row} row)")
        for column in MOUTH_COLUMNS
        if column in report["rows"][row]
    ]


def syncer_results(report: dict, name: str, pipeline_tag: str, source: str) -> list:
    """``benchmarks/ms_sync_syncers.py``: retrieval accuracy of the aligned window per pyramid level."""
    key = next((k for k in ("loss_syncers", "eval_syncers") if _named(report.get(k)) == name), None)
    if key is None:
        return []
    task = f"audio/landmark sync retrieval ({report['clips']} clips)"
    results = []
    for level in report["levels"]:
        scores = report["retrieval"][key][str(level)]
        results.append(
            _result(
                pipeline_tag,
                task,
                report,
                source,
                f"retrieval_accuracy_{level}",
                scores["accuracy"],
                f"level {level}: retrieval among 48 windows of all clips",
            )
        )
        results.append(
            _result(
                pipeline_tag,
                task,
                report,
                source,
                f"same_clip_accuracy_{level}",
                scores["same_clip_accuracy"],
                f"level {level}: retrieval among 12 windows of one clip",
            )
        )
    return results


def sync_expert_results(report: dict, name: str, pipeline_tag: str, source: str) -> list:
    """``benchmarks/sync_experts.py``: offset accuracy with the clips as filmed and with their offsets undone, and
    for a mouth-sync expert the clip-offset checks."""
    rows = {**report.get("face_experts", {}), **report.get("mouth_sync", {})}
    if name not in rows:
        return []
    row = rows[name]
    task = f"audio-video offset accuracy, 8 windows 2 frames apart ({report['clips']} clips)"
    results = [
        _result(
            pipeline_tag,
            task,
            report,
            source,
            f"offset_accuracy_{labels}",
            row[labels]["offset_accuracy"],
            f"offset accuracy, {labels} labels (chance 0.125)",
        )
        for labels in ("raw", "aligned")
    ]
    for key in ("clips_offset_within_1_of_0", "clips_offset_within_1_of_phone_table", "clips_shift_found_5_pm_1"):
        if key in row:
            results.append(_result(pipeline_tag, task, report, source, key, row[key], key.replace("_", " ")))
    return results


def reader_for(report: dict):
    """The reader of a benchmark JSON, told by its content (its ``protocol`` or ``benchmark`` field); ``None`` if
    unknown."""
    if report.get("protocol") == "stabilized sync Table 1":
        return lipsync_results
    if report.get("protocol") == "MS-Sync Table 3":
        return ms_sync_results
    if report.get("benchmark") == "lip-follow":
        return lip_follow_results
    if report.get("benchmark") == "mouth":
        return mouth_results
    if report.get("benchmark") == "sync-experts":
        return sync_expert_results
    if "retrieval" in report and "loss_syncers" in report:
        return syncer_results
    return None


def results_from_files(name: str, pipeline_tag: str, paths) -> list:
    """The results for ``name`` in the given benchmark JSON files (missing files and ``None`` are skipped).

    A file no reader knows is an error: a card that silently drops a benchmark would look complete.
    """
    found = []
    for path in paths:
        if path is None or not Path(path).exists():
            continue
        path = Path(path)
        report = json.loads(path.read_text())
        reader = reader_for(report)
        if reader is None:
            raise ValueError(
                f"{path}: not a benchmark JSON talkhead knows (no 'protocol' or 'benchmark' field); "
                "give the file `talkhead benchmark ...` wrote"
            )
        found += reader(report, name, pipeline_tag, f"{path.parent.parent.name}/{path.parent.name}/{path.name}")
    return found


#: The files of benchmarks/results/ that hold the published models' measurements (other JSONs there are
#: comparisons of runs that were not shipped, e.g. lip_follow_models.json).
PUBLISHED_RESULTS = (
    "lipsync_benchmark.json",
    "ms_sync_benchmark.json",
    "lip_follow.json",
    "mouth.json",
    "ms_sync_syncers.json",
    "sync_experts.json",
)


def eval_results(name: str, pipeline_tag: str, results_dir: str | Path) -> list:
    """Every result the published benchmark JSONs in ``results_dir`` hold for the model ``name`` (a hub_configs
    folder name)."""
    return results_from_files(name, pipeline_tag, [Path(results_dir) / f for f in PUBLISHED_RESULTS])
