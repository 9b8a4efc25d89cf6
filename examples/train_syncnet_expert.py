#!/usr/bin/env python
"""Train the Wav2Lip-style SyncNet expert (Wav2Lip, models/syncnet.py): our *evaluation* expert for lip sync.

    accelerate launch examples/train_syncnet_expert.py --dataset DATASET --output_dir runs/syncnet-eval

The same BCE training as examples/train_avsyncnet.py (whose options all apply) with
``--architecture syncnet``. Never use the result as a training loss of a model it will evaluate.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from train_avsyncnet import main  # noqa: E402

if __name__ == "__main__":
    argv = sys.argv[1:]
    main(argv if "--architecture" in argv else ["--architecture", "syncnet", *argv])
