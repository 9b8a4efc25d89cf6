"""The training skeleton every script in examples/ runs on; a script keeps only its model, data, loss and metric.

    trainer = Trainer(args, "mouth-sync")                       # Accelerator, seed, registered trainer state
    model, optimizer, loader, scheduler = trainer.prepare(...)
    trainer.start(model, "what is trained")                     # arguments saved, trackers, EMA, resume
    trainer.fit(trainer.batches(loader, begin_pass), train_step, [model], Validation(...))
    if trainer.is_main_process:
        trainer.export(summary)                                 # best weights, training_summary.json, push
    trainer.end()

``train_step(batch)`` computes the losses and steps the optimisers through :meth:`Trainer.optimizer_step`
(backward, ``--max_grad_norm`` clipping, step, schedule, zeroed gradients) and returns the named losses to log.
:meth:`Trainer.fit` runs it inside ``accelerator.accumulate`` (``--gradient_accumulation_steps``) and
``accelerator.autocast`` (``accelerate launch --mixed_precision bf16``: every forward of the step, the frozen
models' and the methods other than ``forward`` too; the losses compute in float32, :mod:`talkhead.losses`), counts
optimiser steps, folds the weights into the EMA (``--ema_decay``), logs the losses every ``--logging_steps``
(history, progress bar, trackers), validates every ``Validation.every`` steps on the main process with the best
weights kept on disk (the trained and the EMA weights are both measured; ``--early_stopping_patience``), and
saves a checkpoint every ``--checkpointing_steps`` steps and at the end. :meth:`Trainer.batches` gives a
loader's batches pass after pass from where the run stands: a resumed run skips, with ``skip_first_batches``,
the batches its pass had already given, and a script's ``begin_pass(passes)`` reseeds its data for each pass, so
the resumed run sees what an uninterrupted one would.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from ..hub.model_export import push_to_hub
from .accelerator_setup import build_accelerator, tracker_config
from .checkpoints import load_checkpoint, resolve_checkpoint, save_arguments, save_checkpoint, save_final
from .ema import WeightsEMA


class TrainerState:
    """What a run has done: steps, logged history, time spent and where it stands in its data.

    Registered with ``accelerator.register_for_checkpointing``, so every checkpoint holds it and ``load_state``
    restores it (``position`` is [passes done, batches of the current pass given], or a script's own finer one).
    """

    def __init__(self):
        self.step = 0
        self.history = {"train": {}, "validation": [], "best": None}
        self.wall_seconds = 0.0
        self.position = [0, 0]

    def state_dict(self) -> dict:
        return {
            "step": self.step,
            "history": self.history,
            "wall_seconds": self.wall_seconds,
            "position": self.position,
        }

    def load_state_dict(self, state: dict) -> None:
        self.step, self.history = state["step"], state["history"]
        self.wall_seconds, self.position = state["wall_seconds"], list(state["position"])


@dataclass
class Validation:
    """How a script validates. ``evaluate(model)`` measures the unwrapped model (main process) and returns flat
    metrics; the weights with the best ``metric`` (higher or lower) are saved to OUTPUT_DIR/``best_dir``, unless
    ``keep(step, weights, result)`` keeps them the script's own way (returns whether anything improved).
    ``describe(result)`` is the line printed; ``plot(output_dir, history)`` redraws the script's curves."""

    evaluate: Callable[[torch.nn.Module], dict]
    every: int
    metric: str | None = None
    higher_is_better: bool = True
    best_dir: str = "best_model"
    describe: Callable[[dict], str] | None = None
    plot: Callable[[Path, dict], None] | None = None
    keep: Callable[[int, str, dict], bool] | None = None


def seeded_loader(dataset, batch_size: int, args) -> torch.utils.data.DataLoader:
    """The training loader of a map-style ``dataset``: full batches, ``args.num_workers`` workers, and worker seeds
    drawn from a generator of its own (``args.seed``), not from the global one dropout and the models' noise use, so
    starting a pass (or resuming mid-pass) leaves the random stream of an uninterrupted run unchanged."""
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=batch_size,
        drop_last=True,
        num_workers=args.num_workers,
        generator=torch.Generator().manual_seed(args.seed),
    )


@contextmanager
def gradients_kept(module: torch.nn.Module):
    """``module``'s gradients after the block as they were before it: a GAN generator's backward passes through the
    critic, whose gradients must hold its own loss alone (also across accumulated batches)."""
    parameters = list(module.parameters())
    saved = [None if p.grad is None else p.grad.clone() for p in parameters]
    try:
        yield
    finally:
        for parameter, grad in zip(parameters, saved, strict=True):
            parameter.grad = grad


def scalars(result: dict) -> dict:
    """The numbers of a validation result (what the history and the trackers keep)."""
    return {
        key: value for key, value in result.items() if isinstance(value, (int, float)) and not isinstance(value, bool)
    }


class Trainer:
    """One training run: the accelerator, the registered trainer state, the loop and the final export."""

    def __init__(self, args, name: str, kwargs_handlers: list | None = None):
        from accelerate.utils import set_seed

        self.args, self.name = args, name
        self.output_dir = Path(args.output_dir)
        self.accelerator = build_accelerator(args, kwargs_handlers)
        set_seed(args.seed + self.accelerator.process_index)
        self.state = TrainerState()
        self.accelerator.register_for_checkpointing(self.state)
        self.model = None
        self.ema = None

    @property
    def is_main_process(self) -> bool:
        return self.accelerator.is_main_process

    @property
    def history(self) -> dict:
        return self.state.history

    def print(self, *values) -> None:
        self.accelerator.print(*values)

    def prepare(self, *objects):
        return self.accelerator.prepare(*objects)

    def start(self, model, message: str) -> None:
        """Before the first step: the arguments saved, what is trained printed, trackers, the EMA of ``model`` (the
        model validated and exported), and the state of ``--resume_from_checkpoint`` restored."""
        self.model = model
        if self.is_main_process:
            save_arguments(self.args, self.output_dir)
            self.print(message)
        if self.args.ema_decay:
            self.ema = WeightsEMA(self.accelerator.unwrap_model(model), self.args.ema_decay)
            self.accelerator.register_for_checkpointing(self.ema.average)
        self.accelerator.init_trackers(self.name, config=tracker_config(self.args))
        checkpoint = resolve_checkpoint(self.output_dir, self.args.resume_from_checkpoint)
        if checkpoint is not None:
            load_checkpoint(self.accelerator, checkpoint)
            self.print(f"resumed from {checkpoint} at step {self.state.step}")

    def batches(self, loader, begin_pass: Callable[[int], None] | None = None) -> Iterator:
        """``loader``'s batches, pass after pass, from ``state.position`` on (``begin_pass(passes)`` before each)."""
        passes, done = self.state.position
        while True:
            if done >= len(loader):
                passes, done = passes + 1, 0
            if begin_pass is not None:
                begin_pass(passes)
            for batch in self.accelerator.skip_first_batches(loader, done) if done else loader:
                done += 1
                self.state.position = [passes, done]
                yield batch

    def stream_batches(self, loader) -> Iterator:
        """The batches of ``loader`` over a streamed dataset (:class:`~talkhead.data.streaming.StreamedWindows`, which
        knows its own place and pass), pass after pass, on this process's device. The loader is not prepared by
        accelerate: each process streams its own part of the data."""
        from accelerate.utils import send_to_device

        while True:
            for batch in loader:
                yield send_to_device(batch, self.accelerator.device)

    def optimizer_step(self, loss: torch.Tensor, optimizer, scheduler=None) -> None:
        """Backward, gradient clipping (``--max_grad_norm``, on the batch that steps), step, schedule, zeroed gradients;
        accelerate skips the step, the schedule and the zeroing on the batches that only accumulate. The backward runs
        outside the mixed-precision autocast the step's forward ran in (on a CPU it runs in the calling thread, where
        autocast would still be on), each op in the precision its forward used."""
        with torch.autocast(device_type=self.accelerator.device.type, enabled=False):
            self.accelerator.backward(loss)
        if self.args.max_grad_norm and self.accelerator.sync_gradients:
            parameters = [p for group in optimizer.param_groups for p in group["params"]]
            self.accelerator.clip_grad_norm_(parameters, self.args.max_grad_norm)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        optimizer.zero_grad(set_to_none=True)

    def fit(
        self,
        batches: Iterator,
        train_step: Callable[[object], dict],
        models: list,
        validation: Validation | None = None,
        on_checkpoint: Callable[[int], None] | None = None,
    ) -> None:
        """Train to ``--max_steps`` optimiser steps (or an early stop); see the module docstring."""

        args, state, accelerator = self.args, self.state, self.accelerator
        started = time.perf_counter() - state.wall_seconds
        progress = tqdm(
            total=args.max_steps,
            initial=state.step,
            desc=self.name,
            disable=not accelerator.is_local_main_process,
            dynamic_ncols=True,
        )
        running, accumulated = {}, {}
        stop = state.step >= args.max_steps
        while not stop:
            batch = next(batches)  # drawn outside autocast: data stays in the precision it was made in
            with accelerator.accumulate(*models), accelerator.autocast():
                losses = train_step(batch)
            for key, value in losses.items():
                accumulated.setdefault(key, []).append(
                    value.item() if isinstance(value, torch.Tensor) else float(value)
                )
            if not accelerator.sync_gradients:
                continue
            state.step += 1
            progress.update(1)
            if self.ema is not None:
                self.ema.update()
            for key, values in accumulated.items():
                running.setdefault(key, []).append(sum(values) / len(values))
            accumulated = {}
            if state.step % args.logging_steps == 0:
                self._log_losses(running, progress)
                running = {}
            if validation is not None and state.step % validation.every == 0:
                stop = self._validate(validation)
            stop = stop or state.step >= args.max_steps
            if state.step % args.checkpointing_steps == 0 or stop:
                state.wall_seconds = time.perf_counter() - started
                save_checkpoint(accelerator, state)
                if on_checkpoint is not None:
                    on_checkpoint(state.step)
        progress.close()
        state.wall_seconds = time.perf_counter() - started
        if (
            validation is not None
            and validation.plot is not None
            and self.history["validation"]
            and self.is_main_process
        ):
            validation.plot(self.output_dir, self.history)
        accelerator.wait_for_everyone()

    def _log_losses(self, running: dict, progress) -> None:
        means = {key: float(np.mean(values)) for key, values in running.items()}
        if self.accelerator.num_processes > 1:  # the loss of the global batch: every process's mean, averaged
            keys = sorted(means)
            local = torch.tensor([means[key] for key in keys], dtype=torch.float64, device=self.accelerator.device)
            means = dict(zip(keys, self.accelerator.reduce(local, reduction="mean").tolist(), strict=True))
        for key, value in means.items():
            self.history["train"].setdefault(key, []).append((self.state.step, value))
        self.accelerator.log({f"train/{key}": value for key, value in means.items()}, step=self.state.step)
        progress.set_postfix({key[:5]: f"{value:.3f}" for key, value in means.items()}, refresh=False)

    def _validate(self, validation: Validation) -> bool:
        """Measure and keep the best weights on the main process; True (on every process) when patience ran out."""
        from accelerate.utils import broadcast

        stop = torch.zeros(1, device=self.accelerator.device)
        if self.is_main_process:
            improved = self._measure(validation)
            self.history["stale_validations"] = 0 if improved else self.history.get("stale_validations", 0) + 1
            if validation.plot is not None:
                validation.plot(self.output_dir, self.history)
            patience = self.args.early_stopping_patience
            if patience and self.history["stale_validations"] >= patience:
                self.print(f"no new best in {self.history['stale_validations']} validations: stopping early")
                stop += 1
        return bool(broadcast(stop).item())

    def _weights(self):
        """(label, context) of each set of weights to validate: the trained ones, and the EMA's when there is one."""
        yield "trained", nullcontext()
        if self.ema is not None:
            yield "ema", self.ema.applied()

    def _measure(self, validation: Validation) -> bool:
        model = self.accelerator.unwrap_model(self.model)
        step, improved = self.state.step, False
        for weights, context in self._weights():
            with context:
                was_training = model.training
                result = validation.evaluate(model)
                model.train(was_training)
                keep = validation.keep or self._keep_best(validation, model)
                improved = keep(step, weights, result) or improved
            key = "validation" if weights == "trained" else f"validation_{weights}"
            self.history.setdefault(key, []).append((step, scalars(result)))
            self.accelerator.log({f"{key}/{name}": value for name, value in scalars(result).items()}, step=step)
            label = "" if self.ema is None else f" [{weights} weights]"
            self.print(f"step {step}{label}: {validation.describe(result) if validation.describe else scalars(result)}")
        return improved

    def _keep_best(self, validation: Validation, model) -> Callable[[int, str, dict], bool]:
        def keep(step: int, weights: str, result: dict) -> bool:
            best, value = self.history["best"], result[validation.metric]
            if best is not None:
                better = (
                    value > best[validation.metric] if validation.higher_is_better else value < best[validation.metric]
                )
                if not better:
                    return False
            self.history["best"] = {"step": step, **({"weights": weights} if self.ema is not None else {}), **result}
            model.save_pretrained(self.output_dir / validation.best_dir)
            return True

        return keep

    def export(self, summary: dict, model=None, best_dir: str | None = "best_model"):
        """Main process, after :meth:`fit`: the final model (``model``, else the best validated weights in ``best_dir``,
        else the last) saved to OUTPUT_DIR with ``training_summary.json`` (steps, time, the script's ``summary``, the
        best validation); the EMA weights beside it in ``ema_model/``; ``--push_to_hub``. Returns the saved model."""
        summary = {
            "steps": self.state.step,
            "wall_seconds": round(self.state.wall_seconds, 1),
            **summary,
            "best": self.history["best"],
        }
        if self.ema is not None:
            with self.ema.applied() as averaged:
                averaged.save_pretrained(self.output_dir / "ema_model")
        final = save_final(
            model if model is not None else self.accelerator.unwrap_model(self.model),
            self.output_dir,
            summary,
            best_dir,
        )
        self.print(json.dumps({key: value for key, value in summary.items() if key != "best"}, indent=1))
        if self.args.push_to_hub:
            push_to_hub(final, self.args.hub_model_id, self.output_dir)
        return final

    def end(self) -> None:
        self.accelerator.end_training()
