"""Arguments every training script in examples/ shares (data, validation split, checkpointing, Hub)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TrainingRunArguments:
    """Base of each script's ``HfArgumentParser`` dataclass; scripts add their own fields after these."""

    dataset: str | None = field(default=None, metadata={"help": "folder written by `talkhead preprocess`"})
    output_dir: str | None = field(default=None, metadata={"help": "where checkpoints, plots and the model go"})
    split: str = field(default="train", metadata={"help": "dataset split to train on"})
    validation_sources: str | None = field(default=None, metadata={"help": "comma-separated sources held out for validation"})
    validation_fraction: float = field(default=0.15, metadata={"help": "share of frames held out when no sources are named"})
    checkpointing_steps: int = field(default=1000)
    checkpoints_total_limit: int = field(default=2)
    resume_from_checkpoint: str | None = field(default=None, metadata={"help": "'latest' or a checkpoints/step-N folder"})
    logging_steps: int = field(default=25)
    seed: int = field(default=0)
    num_workers: int = field(default=0)
    push_to_hub: bool = field(default=False)
    hub_model_id: str | None = field(default=None)

    def require_data_and_output(self) -> None:
        if not self.dataset or not self.output_dir:
            raise SystemExit("error: --dataset and --output_dir are required (or resume a run with --resume_from_checkpoint)")
