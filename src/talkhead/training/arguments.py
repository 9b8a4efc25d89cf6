"""Arguments every training script in examples/ shares (data, validation split, optimisation, checkpointing,
logging, Hub)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TrainingRunArguments:
    """Base of each script's ``HfArgumentParser`` dataclass; scripts add their own fields after these."""

    dataset: str | None = field(default=None, metadata={"help": "folder written by `talkhead preprocess`"})
    output_dir: str | None = field(default=None, metadata={"help": "where checkpoints, plots and the model go"})
    split: str = field(default="train", metadata={"help": "dataset split to train on"})
    validation_sources: str | None = field(
        default=None, metadata={"help": "comma-separated sources held out for validation"}
    )
    validation_fraction: float = field(
        default=0.15, metadata={"help": "share of frames held out when no sources are named"}
    )
    gradient_accumulation_steps: int = field(
        default=1, metadata={"help": "batches whose gradients make one optimiser step"}
    )
    lr_scheduler: str = field(
        default="constant",
        metadata={
            "help": "one_cycle (torch's OneCycleLR) or a transformers schedule: constant, constant_with_warmup, "
            "linear, cosine, ..."
        },
    )
    lr_warmup_steps: int = field(default=0, metadata={"help": "warm-up steps of the schedules that have one"})
    max_grad_norm: float | None = field(
        default=None, metadata={"help": "clip the gradients' norm to this (none: no clipping)"}
    )
    ema_decay: float = field(
        default=0.0,
        metadata={
            "help": "keep an exponential moving average of the trained model's weights (0: none); validation "
            "measures both and the better weights are kept"
        },
    )
    early_stopping_patience: int | None = field(
        default=None, metadata={"help": "stop after this many validations without a new best"}
    )
    checkpointing_steps: int = field(default=1000)
    checkpoints_total_limit: int = field(default=2)
    resume_from_checkpoint: str | None = field(
        default=None, metadata={"help": "'latest' or a checkpoints/checkpoint_N folder"}
    )
    logging_steps: int = field(default=25)
    report_to: str = field(
        default="tensorboard",
        metadata={
            "help": "trackers beside the PNG plots: tensorboard (skipped with a notice when it is not installed), "
            "all or none"
        },
    )
    seed: int = field(default=0)
    num_workers: int = field(default=0)
    streaming: bool = field(
        default=False,
        metadata={
            "help": "stream the clips from the dataset's Parquet shards instead of loading them (datasets bigger than "
            "memory; each process reads its own part; see talkhead.data.streaming)"
        },
    )
    window_buffer: int = field(default=512, metadata={"help": "--streaming: training samples in the shuffle buffer"})
    stream_draws: int = field(
        default=4,
        metadata={
            "help": "--streaming: samples drawn from each clip per span of frames one sample covers (a clip's "
            "features cost more than a step spends on a sample)"
        },
    )
    push_to_hub: bool = field(default=False)
    hub_model_id: str | None = field(default=None)

    def require_choice(self, name: str, choices: tuple[str, ...]) -> None:
        """SystemExit with the choices when ``--name`` is none of them."""
        value = getattr(self, name)
        if value not in choices:
            raise SystemExit(f"error: --{name} must be {', '.join(choices[:-1])} or {choices[-1]}, got {value!r}")

    def require_data_and_output(self) -> None:
        if not self.dataset or not self.output_dir:
            raise SystemExit(
                "error: --dataset and --output_dir are required (or resume a run with --resume_from_checkpoint)"
            )
