"""The ``Accelerator`` of a training run, its trackers and its learning-rate schedule, from the shared arguments.

* checkpoints: ``ProjectConfiguration(project_dir=OUTPUT_DIR, automatic_checkpoint_naming=True,
  total_limit=--checkpoints_total_limit)`` (see :mod:`talkhead.training.checkpoints`);
* gradient accumulation: ``--gradient_accumulation_steps`` batches per optimiser step, counted by accelerate
  across pass boundaries (``sync_with_dataloader=False``), so an optimiser step is always that many batches and a
  resumed run finds its place in the data from the step alone;
* trackers: ``--report_to tensorboard`` (the default) logs to OUTPUT_DIR/logs beside the PNG plots; without the
  ``tensorboard`` package the run goes on with the plots alone and says so;
* schedules: ``--lr_scheduler`` is ``one_cycle`` (torch's ``OneCycleLR``) or any name of
  ``transformers.get_scheduler`` (``constant``, the default, leaves the learning rate as it is).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

LOGS = "logs"


def trackers(report_to: str | None) -> list[str]:
    """The trackers ``--report_to`` asks for that are installed; a notice for each one that is not."""
    from accelerate.utils import is_tensorboard_available

    wanted = [name.strip() for name in (report_to or "none").split(",") if name.strip() and name.strip() != "none"]
    if wanted == ["all"]:
        return ["all"]
    available = []
    for name in wanted:
        if name == "tensorboard" and not is_tensorboard_available():
            print(
                "notice: --report_to tensorboard, but the tensorboard package is not installed "
                "(pip install tensorboard); logging to the PNG plots only"
            )
            continue
        available.append(name)
    return available


def build_accelerator(args, kwargs_handlers: list | None = None):
    """The run's ``Accelerator``: checkpoints named and rotated by accelerate, accumulation, trackers."""
    from accelerate import Accelerator
    from accelerate.utils import GradientAccumulationPlugin, ProjectConfiguration

    output_dir = Path(args.output_dir)
    project = ProjectConfiguration(
        project_dir=str(output_dir),
        logging_dir=str(output_dir / LOGS),
        automatic_checkpoint_naming=True,
        total_limit=args.checkpoints_total_limit if args.checkpoints_total_limit > 0 else None,
    )
    accumulation = GradientAccumulationPlugin(num_steps=args.gradient_accumulation_steps, sync_with_dataloader=False)
    return Accelerator(
        project_config=project,
        gradient_accumulation_plugin=accumulation,
        log_with=trackers(args.report_to) or None,
        kwargs_handlers=kwargs_handlers or [],
    )


def tracker_config(args) -> dict:
    """The arguments as tracker hyperparameters (TensorBoard takes numbers, strings and booleans only)."""

    return {key: value for key, value in dataclasses.asdict(args).items() if isinstance(value, (bool, int, float, str))}


def build_scheduler(optimizer, args, **specific):
    """The learning-rate schedule ``--lr_scheduler`` names over ``--max_steps`` optimiser steps.

    accelerate steps a prepared schedule once per process at every optimiser step (it expects schedules counted in
    single-process batches), so with N processes the schedule is built over N x ``--max_steps`` (and N x the
    warm-up): in every process count the learning rate at step k is the one-process run's.

    ``one_cycle``: ``OneCycleLR`` to each group's learning rate, warm-up ``--lr_warmup_steps`` (when 0: 5 % of the
    run, at least 2.5 steps, as OneCycleLR divides by zero with a one-step warm-up). Other names go to
    ``transformers.get_scheduler``; ``specific`` are that schedule's own arguments (e.g. ``step_rules`` of
    ``piecewise_constant``).
    """
    import torch
    from accelerate import PartialState
    from transformers import get_scheduler

    processes = PartialState().num_processes
    if args.lr_scheduler == "one_cycle":
        warmup = (
            args.lr_warmup_steps / args.max_steps if args.lr_warmup_steps else min(0.3, max(0.05, 2.5 / args.max_steps))
        )
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            [group["lr"] for group in optimizer.param_groups],
            total_steps=args.max_steps * processes,
            pct_start=warmup,
        )

    try:
        return get_scheduler(
            args.lr_scheduler,
            optimizer,
            num_warmup_steps=args.lr_warmup_steps * processes,
            num_training_steps=args.max_steps * processes,
            scheduler_specific_kwargs=specific or None,
        )
    except ValueError as err:
        raise SystemExit(f"error: --lr_scheduler {args.lr_scheduler}: {err}") from err
