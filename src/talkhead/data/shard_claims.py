"""Who writes which shard of a sharded dataset folder (:mod:`talkhead.data.shards`), so that runs whose shards could
not be one dataset are refused before any work, even when they start at the same moment.

A shard's *plan* is what every shard of one folder must agree on: the number of shards, the options, the test
sources and the identity of the input (:func:`input_identity`: the paths below the input folder of every video,
frame folder and audio file found, counted and hashed per first-level folder; a walk, nothing is probed). A run
records its plan as a claim before it works, and its manifest repeats the plan when it is done:

    OUT/.sharding/lock                               held while a run checks and claims (milliseconds)
    OUT/.sharding/claims/shard-0000I-of-0000N.lock   held by the run writing shard I/N for as long as it runs
    OUT/.sharding/claims/shard-0000I-of-0000N.json   its claim: the plan, its process id, host and start time

:meth:`ShardClaim.acquire`, holding the folder lock: takes its shard's lock (held: another run writes that shard,
refused); checks its plan against every complete manifest and every claim whose run is alive (its shard lock is
held: the kernel drops a lock when its process ends, kill -9 included, so a dead run's claim is removed, never
waited for); writes its claim atomically; moves a finished folder back into staging and removes its own older
files. Claims are made one at a time, so of two disagreeing runs started together the first claims and the second
is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from pathlib import Path

from ..errors import TalkheadInputError
from .shards import (
    MANIFEST_VERSION,
    FileLock,
    Shard,
    clear_shard,
    folder_lock,
    manifest_path,
    publish_if_complete,
    read_manifests,
    staging_folder,
    unpublish,
    write_json_atomic,
)

CLAIM_FOLDER = "claims"
NAMED_DIFFERENCES = 3  # folders named when two inputs differ


def claim_path(output: str | os.PathLike, shard: Shard) -> Path:
    return staging_folder(output) / CLAIM_FOLDER / f"shard-{shard.name}.json"


def shard_lock(output: str | os.PathLike, shard: Shard) -> FileLock:
    return FileLock(claim_path(output, shard).with_suffix(".lock"))


def _digest(keys: list[str]) -> str:
    return hashlib.sha1("\n".join(keys).encode("utf-8")).hexdigest()


def input_identity(keys: list[str]) -> dict:
    """What an input holds, as the number of media files and a hash of their paths below the input folder, in all
    and per first-level folder (``""``: the files directly in it), so that a difference can be named."""
    keys = sorted(keys)
    groups: dict[str, list[str]] = {}
    for key in keys:
        groups.setdefault(key.split("/")[0] if "/" in key else "", []).append(key)
    return {
        "files": len(keys),
        "digest": _digest(keys),
        "folders": {name: [len(members), _digest(members)[:16]] for name, members in groups.items()},
    }


def input_difference(there: dict | None, here: dict) -> str:
    """Where the input identity ``there`` differs from ``here``, in words (the first few folders)."""
    there = there or {"files": 0, "folders": {}}
    theirs, ours = there["folders"], here["folders"]
    differing = [name for name in sorted(set(theirs) | set(ours)) if theirs.get(name) != ours.get(name)]
    named = [
        f"{name + '/' if name else 'the files directly in the input folder'} "
        f"({theirs.get(name, [0])[0]} there, {ours.get(name, [0])[0]} here)"
        for name in differing[:NAMED_DIFFERENCES]
    ]
    more = f" and {len(differing) - NAMED_DIFFERENCES} more" if len(differing) > NAMED_DIFFERENCES else ""
    return f"{_files(there['files'])} there, {_files(here['files'])} here; they differ in {', '.join(named)}{more}"


def _files(count: int) -> str:
    return f"{count} media file{'' if count == 1 else 's'}"


def shard_plan(shard: Shard, options: dict, test_sources: list[str] | None, input_keys: list[str]) -> dict:
    """What every shard of one folder must agree on (the module docstring); a manifest starts with it."""
    return {
        "version": MANIFEST_VERSION,
        "shard": {"index": shard.index, "count": shard.count},
        "options": options,
        "test_sources": test_sources,
        "input": input_identity(input_keys),
    }


def _named(record: dict) -> str:
    shard = f"shard {record['shard']['index']}/{record['shard']['count']}"
    return shard + (f" (being written by process {record['pid']} on {record['host']})" if "pid" in record else "")


def check_compatible(output: Path, plan: dict, records: list[dict]) -> None:
    """Refuse ``plan`` when a shard of ``output`` (``records``: complete manifests and running claims) was written by
    another shard layout, cut into another number of shards, from other input files, or with other options: their
    rows could not be one dataset."""
    shard = Shard(**plan["shard"])
    for record in records:
        other = Shard(**record["shard"])
        if other == shard:  # this shard's older manifest, which this run replaces
            continue
        if record.get("version", 1) != plan["version"]:
            raise TalkheadInputError(
                f"in {output}, {_named(record)} was written by another talkhead (shard layout "
                f"{record.get('version', 1)}, this one writes {plan['version']}), whose shards own other clips: give "
                "another --output, or write every shard with one version"
            )
        if other.count != shard.count:
            raise TalkheadInputError(
                f"{output} holds shards of {other.count}: {_named(record)}; this run cuts {shard.count}: use "
                f"--shard I/{other.count}, or another --output"
            )
        if record.get("input") != plan["input"]:
            raise TalkheadInputError(
                f"in {output}, {_named(record)} was cut from other input files than this run "
                f"({input_difference(record.get('input'), plan['input'])}): give every shard the same input (the same "
                "files below the input folder, whatever it is called), or another --output"
            )
        options, theirs = plan["options"], record["options"]
        differing = sorted(k for k in set(options) | set(theirs) if options.get(k) != theirs.get(k))
        if record.get("test_sources") != plan["test_sources"]:
            differing.append("test_sources")
        if differing:
            raise TalkheadInputError(
                f"in {output}, {_named(record)} was made with other options ({', '.join(differing)}); run every "
                "shard with the same options"
            )


def live_claims(output: Path) -> list[dict]:
    """The claims of the runs writing shards of ``output`` now, with :func:`folder_lock` held; a dead run's claim
    (its shard lock free) is removed."""
    folder = staging_folder(output) / CLAIM_FOLDER
    claims = []
    for path in sorted(folder.glob("shard-*-of-*.json")) if folder.is_dir() else []:
        lock = FileLock(path.with_suffix(".lock"))
        if lock.acquire(wait=False):
            lock.release()
            path.unlink(missing_ok=True)
        else:
            claims.append(json.loads(path.read_text()))
    return claims


def _busy(output: Path, shard: Shard) -> str:
    try:
        claim = json.loads(claim_path(output, shard).read_text())
    except (FileNotFoundError, ValueError):  # between its lock and its claim: it is starting or finishing
        claim = {}
    who = f"process {claim['pid']} on {claim['host']} (since {claim['started']})" if claim else "another process"
    return (
        f"shard {shard} is being written into {output} by {who}; wait for it to finish, or stop it and run the "
        "shard again"
    )


class ShardClaim:
    """``plan``'s shard of ``output``, claimed by this process from :meth:`acquire` until :meth:`complete` or
    :meth:`release`."""

    def __init__(self, output: str | os.PathLike, plan: dict):
        self.output, self.plan = Path(output), plan
        self.shard = Shard(**plan["shard"])
        self.lock = shard_lock(output, self.shard)

    def acquire(self) -> None:
        """Claim the shard (the module docstring), or raise :class:`TalkheadInputError` saying which run or shard
        disagrees and what to do."""
        with folder_lock(self.output):
            if not self.lock.acquire(wait=False):
                raise TalkheadInputError(_busy(self.output, self.shard))
            try:
                check_compatible(self.output, self.plan, read_manifests(self.output) + live_claims(self.output))
                started = time.strftime("%Y-%m-%d %H:%M:%S")
                write_json_atomic(
                    claim_path(self.output, self.shard),
                    {**self.plan, "pid": os.getpid(), "host": platform.node(), "started": started},
                )
                unpublish(self.output)
                clear_shard(self.output, self.shard)
            except BaseException:
                self.lock.release()
                raise

    def complete(self, manifest: dict) -> Path:
        """Record ``manifest`` (the shard is complete), publish the folder when this completes it, and let the shard
        go; returns where the manifest is now."""
        with folder_lock(self.output):
            write_json_atomic(manifest_path(staging_folder(self.output), self.shard), manifest)
            claim_path(self.output, self.shard).unlink(missing_ok=True)
            published = publish_if_complete(self.output)
            self.lock.release()
        return manifest_path(self.output if published else staging_folder(self.output), self.shard)

    def release(self) -> None:
        """Let the shard go unfinished (the run failed or was stopped): its claim is removed."""
        if self.lock.fd is None:
            return
        with folder_lock(self.output):
            claim_path(self.output, self.shard).unlink(missing_ok=True)
            self.lock.release()
