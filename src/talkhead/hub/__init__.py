"""Everything talkhead reads from or writes for the Hugging Face Hub.

What is imported from here is the lookup every layer uses to load a model by name (:mod:`talkhead.hub.lookup`):
:func:`checkpoint_path`, :func:`load_pretrained`, :func:`pipeline`, :func:`shipped_names`, ... The rest is
imported from its module, so loading a model never loads the writers (nor torch through the exporter):

- :mod:`talkhead.hub.lookup`: model ids and the folder each one loads from, with no network;
- :mod:`talkhead.hub.upload`: uploading a folder, with the failures told apart (auth, network, the Hub);
- :mod:`talkhead.hub.model_card`: model cards through ``huggingface_hub``'s card classes;
- :mod:`talkhead.hub.model_export`: a trained model as published: into ``hub_configs/<name>/`` (float16
  weights), or uploaded with its card at the end of a training run (``--push_to_hub``);
- :mod:`talkhead.hub.dataset_export`: a preprocessed dataset the Hub way (card, Parquet shards, upload).

Layers: ``hub`` is a base part, importable from every layer, so the package imports only ``errors`` and
``defaults`` (never ``data``, ``training``, ``pipelines`` or ``cli``). What a writer needs from a higher
layer is passed in by its caller rather than imported: the trained model and its run folder to
``push_to_hub``, the ``DatasetDict`` to the dataset card, the training datasets (``datasets=``) to a model
card. The names of the files a training run writes beside its model (``training_args.json``,
``training_summary.json``) are defined in :mod:`talkhead.hub.model_export`, which uploads them and reads the
recipe from them; ``training`` writes them under those names.
"""

from __future__ import annotations

from .lookup import (
    NAMESPACE,
    cached_snapshot,
    checkpoint_path,
    load_pretrained,
    model_id,
    pipeline,
    refuse_checkpoint_code,
    shipped_names,
    shipped_root,
)

__all__ = [
    "NAMESPACE",
    "cached_snapshot",
    "checkpoint_path",
    "load_pretrained",
    "model_id",
    "pipeline",
    "refuse_checkpoint_code",
    "shipped_names",
    "shipped_root",
]
