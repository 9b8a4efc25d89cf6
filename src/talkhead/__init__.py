"""talkhead: audio-driven talking heads and audio-visual synchrony metrics.

Implements MS-Sync (Airale et al.), the stabilized synchronization loss (Yaman et al., ECCV) and the
AV-HuBERT lip-sync expert (Yaman et al., CVPRW) as one library. Importing the package is cheap:
heavy modules (torch, transformers, dlib) load when first used. It registers the model classes and the
"talking-head" and "lip-sync" tasks with transformers, lazily, the moment transformers' Auto classes or
pipelines are imported (:mod:`talkhead.registration` says how and why).

The shipped models have Hub-style ids, ``talkhead/<name>``, that resolve offline (:mod:`talkhead.hub`);
:func:`pipeline` is ``transformers.pipeline`` that also takes them and their short names;
:class:`LipSyncAvatar` is a video prepared once and lip-synced live to speech as it arrives.
"""

__version__ = "0.1.0.dev0"

from .registration import install as _install_registration  # noqa: E402


def pipeline(task: str, model=None, **kwargs):
    """``transformers.pipeline`` that also takes talkhead's model names and ids (:func:`talkhead.hub.pipeline`)."""
    from .hub import pipeline as hub_pipeline

    return hub_pipeline(task, model=model, **kwargs)


def __getattr__(name: str):
    """``talkhead.LipSyncAvatar``, imported when first used (it loads the model stack)."""
    if name == "LipSyncAvatar":
        from .pipelines.live import LipSyncAvatar

        return LipSyncAvatar
    raise AttributeError(f"module 'talkhead' has no attribute {name!r}")


_install_registration()

__all__ = ["LipSyncAvatar", "pipeline", "__version__"]
