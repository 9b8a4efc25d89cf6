"""The training skeleton (talkhead.training.loop) on a toy regression, in-process: accumulation, checkpoint rotation
and interrupted checkpoints, trackers that may be missing, schedules, the critic's gradients, EMA and early stopping.
The real scripts on it are tested in tests/examples/."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

from talkhead.training.accelerator_setup import build_scheduler, trackers
from talkhead.training.arguments import TrainingRunArguments
from talkhead.training.checkpoints import checkpoint_dirs, checkpoint_step, resolve_checkpoint
from talkhead.training.loop import Trainer, Validation, gradients_kept


@dataclass
class ToyArguments(TrainingRunArguments):
    max_steps: int = 4
    validation_steps: int = 1
    logging_steps: int = 1
    checkpointing_steps: int = 2
    batch_size: int = 4
    learning_rate: float = 0.1
    report_to: str = "none"


@pytest.fixture(autouse=True)
def fresh_accelerate_state():
    """accelerate keeps its state in singletons; every toy run starts from a clean one."""
    from accelerate.state import AcceleratorState, GradientState

    yield
    AcceleratorState._reset_state(True)
    GradientState._reset_state()


def toy_run(output_dir, keep=None, **overrides) -> Trainer:
    """Linear regression on 16 fixed samples (no shuffle), trained by the skeleton as a script would."""
    args = ToyArguments(output_dir=str(output_dir), **overrides)
    trainer = Trainer(args, "toy")
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(16, 3, generator=generator)
    data = torch.utils.data.TensorDataset(x, x @ torch.tensor([[1.0], [-2.0], [0.5]]))
    model = torch.nn.Linear(3, 1)
    torch.nn.init.zeros_(model.weight)
    torch.nn.init.zeros_(model.bias)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.learning_rate)
    loader = torch.utils.data.DataLoader(data, batch_size=args.batch_size)
    model, optimizer, loader, scheduler = trainer.prepare(model, optimizer, loader, build_scheduler(optimizer, args))
    trainer.start(model, "toy")

    def train_step(batch) -> dict:
        loss = torch.nn.functional.mse_loss(model(batch[0]), batch[1])
        trainer.optimizer_step(loss, optimizer, scheduler)
        return {"loss": loss}

    def evaluate(m) -> dict:
        with torch.no_grad():
            return {"mse": float(torch.nn.functional.mse_loss(m(data.tensors[0]), data.tensors[1]))}

    validation = Validation(evaluate, args.validation_steps, keep=keep or (lambda step, weights, result: True))
    trainer.fit(trainer.batches(loader), train_step, [model], validation)
    trainer.end()
    return trainer


def test_two_accumulated_batches_step_like_one_batch_twice_as_large(tmp_path):
    accumulated = toy_run(tmp_path / "a", batch_size=2, gradient_accumulation_steps=2, max_steps=3)
    weights = accumulated.model.weight.detach().clone()
    whole = toy_run(tmp_path / "b", batch_size=4, max_steps=3)
    torch.testing.assert_close(weights, whole.model.weight.detach())
    assert accumulated.state.step == 3 and accumulated.state.position == [0, 6]  # 6 of the 8 batches of the pass
    assert [step for step, _ in accumulated.history["train"]["loss"]] == [1, 2, 3]


def test_checkpoints_rotate_and_latest_passes_over_an_interrupted_one(tmp_path):
    toy_run(tmp_path, checkpointing_steps=1, checkpoints_total_limit=2, max_steps=5)
    assert [p.name for p in checkpoint_dirs(tmp_path)] == ["checkpoint_4", "checkpoint_5"]
    (tmp_path / "checkpoints" / "checkpoint_11").mkdir()  # a save a crash interrupted: no trainer_state.json
    assert resolve_checkpoint(tmp_path, "latest").name == "checkpoint_5"
    assert (
        checkpoint_step("checkpoint_10") == 10
        and checkpoint_step("step-0000010") == 10
        and checkpoint_step("x") is None
    )
    with pytest.raises(FileNotFoundError, match="interrupted"):
        resolve_checkpoint(tmp_path, str(tmp_path / "checkpoints" / "checkpoint_11"))


def test_a_resumed_toy_run_restores_its_registered_state(tmp_path):
    toy_run(tmp_path, max_steps=2)
    resumed = toy_run(tmp_path, max_steps=4, resume_from_checkpoint="latest")
    straight = toy_run(tmp_path / "straight", max_steps=4)
    assert resumed.history["train"] == straight.history["train"]
    torch.testing.assert_close(resumed.model.weight, straight.model.weight)


def test_tensorboard_is_optional(tmp_path, monkeypatch, capsys):
    import accelerate.utils

    toy_run(tmp_path / "logged", report_to="tensorboard", max_steps=1)
    assert any((tmp_path / "logged" / "logs" / "toy").glob("events.out.tfevents.*"))
    monkeypatch.setattr(accelerate.utils, "is_tensorboard_available", lambda: False)
    assert trackers("tensorboard") == [] and "not installed" in capsys.readouterr().out
    trainer = toy_run(tmp_path / "plain", report_to="tensorboard", max_steps=1)
    assert trainer.state.step == 1 and not (tmp_path / "plain" / "logs").exists()
    assert trackers("none") == [] and trackers(None) == []


def test_schedules(tmp_path):
    def rates(name, steps=10, **overrides):
        args = ToyArguments(output_dir=str(tmp_path), lr_scheduler=name, max_steps=steps, **overrides)
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        scheduler = build_scheduler(optimizer, args)
        found = []
        for _ in range(steps):
            found.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step()
        return found

    assert rates("constant") == [1.0] * 10
    assert max(rates("one_cycle")) > 0.95 and rates("one_cycle")[0] < 0.1
    cosine = rates("cosine", lr_warmup_steps=2)
    assert cosine[0] == 0.0 and cosine[2] == pytest.approx(1.0) and cosine[-1] < 0.1
    with pytest.raises(SystemExit, match="--lr_scheduler"):
        rates("no_such_schedule")


def test_the_critic_keeps_its_own_gradients():
    critic, generator = torch.nn.Linear(2, 1), torch.nn.Linear(2, 2)
    critic(torch.ones(1, 2)).sum().backward()
    before = critic.weight.grad.clone()
    with gradients_kept(critic):
        critic(generator(torch.ones(1, 2))).sum().backward()
    assert torch.equal(critic.weight.grad, before) and generator.weight.grad is not None


def test_ema_weights_are_validated_beside_the_trained_ones(tmp_path):
    kept = []
    trainer = toy_run(
        tmp_path,
        keep=lambda step, weights, result: kept.append((step, weights)) or False,
        ema_decay=0.9,
        max_steps=2,
        early_stopping_patience=5,
    )
    assert kept == [(1, "trained"), (1, "ema"), (2, "trained"), (2, "ema")]
    assert len(trainer.history["validation"]) == len(trainer.history["validation_ema"]) == 2


def test_early_stopping_saves_a_checkpoint_where_it_stops(tmp_path):
    trainer = toy_run(
        tmp_path,
        keep=lambda step, weights, result: step == 1,
        early_stopping_patience=2,
        max_steps=10,
        checkpointing_steps=100,
    )
    assert trainer.state.step == 3 and trainer.history["stale_validations"] == 2
    assert [p.name for p in checkpoint_dirs(tmp_path)] == ["checkpoint_3"]


def test_schedules_keep_pace_with_the_steps_in_several_processes(monkeypatch):
    """accelerate steps a prepared schedule once per process at every optimiser step: build_scheduler counts that in,
    so with 2 processes the learning rate at step k is the one-process run's."""
    import accelerate

    class Args:
        lr_scheduler, lr_warmup_steps, max_steps = "one_cycle", 0, 20

    def rates(processes: int) -> list[float]:
        class State:
            num_processes = processes

        monkeypatch.setattr(accelerate, "PartialState", State)
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        scheduler = build_scheduler(optimizer, Args())
        seen = []
        for _ in range(Args.max_steps):
            seen.append(optimizer.param_groups[0]["lr"])
            for _ in range(processes):  # what AcceleratedScheduler.step does
                optimizer.step()
                scheduler.step()
        return seen

    one, two = rates(1), rates(2)
    assert max(abs(a - b) for a, b in zip(one, two, strict=True)) < 0.025  # OneCycleLR rounds its phases apart
    assert two[10] > 0.03  # unscaled, two processes would be annealed out by the middle of the run
    assert max(two) == pytest.approx(0.1, rel=0.01) and two[-1] < 0.01  # warmed up, then annealed, in 20 steps
