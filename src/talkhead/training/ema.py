"""An exponential moving average of a model's weights (``diffusers.training_utils.EMAModel``), for ``--ema_decay``.

The average is registered with accelerate (``register_for_checkpointing``), so a resumed run continues it
exactly, and swapped into the model for validation (:meth:`WeightsEMA.applied`), so the skeleton measures the
averaged weights beside the trained ones and keeps whichever validate better. diffusers' warm-up is kept: the
decay grows as (1 + n) / (10 + n) up to ``--ema_decay``, so the average follows the first steps closely.
"""

from __future__ import annotations

from contextlib import contextmanager


class WeightsEMA:
    """The moving average of ``model``'s parameters (the unwrapped model; buffers are not averaged)."""

    def __init__(self, model, decay: float):
        from diffusers.training_utils import EMAModel

        self.model = model
        self.average = EMAModel(model.parameters(), decay=decay)

    def update(self) -> None:
        """Fold the model's current weights into the average (after each optimiser step)."""
        self.average.step(self.model.parameters())

    @contextmanager
    def applied(self):
        """The averaged weights in the model for the duration of the block; the trained ones again after it."""
        self.average.store(self.model.parameters())
        self.average.copy_to(self.model.parameters())
        try:
            yield self.model
        finally:
            self.average.restore(self.model.parameters())
