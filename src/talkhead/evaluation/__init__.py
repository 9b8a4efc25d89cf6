"""Evaluation orchestration: decode and track a video once, then feed the pure metrics of :mod:`talkhead.metrics`.

* :mod:`talkhead.processing.tracked_clip`: :class:`~talkhead.processing.tracked_clip.TrackedClip`, one video decoded
  and tracked once with the dataset's conventions (``talkhead preprocess`` uses the same function);
* :mod:`.evaluate`: ``talkhead evaluate video VIDEO``, every metric of a video (:mod:`.video_metrics` runs each one,
  :mod:`.inputs` resolves the speech and the weights first, :mod:`.report` prints and plots the report), the
  mouth-sync expert's offset among them (:mod:`talkhead.data.mouth_sync`, which ``talkhead preprocess`` also measures
  clips with);
* :mod:`.verdict`: the report's one answer from that offset, in sync, offset by N frames or cannot tell (the Space
  gives the same on its results);
* :mod:`.landmarks_report`: ``talkhead evaluate landmarks``, MS-Sync's multi-scale sync of landmarks;
* with ``--speaker-video``, :mod:`.evaluate` adds the lip-follow against the speaker's video
  (:func:`~talkhead.evaluation.evaluate.lip_follow_videos`, the measure is :mod:`talkhead.metrics.lip_follow`);
* :mod:`talkhead.metrics.baselines`: the no-learning mouth-motion baselines every model is read against.

The sync experts themselves are :class:`talkhead.metrics.sync.SyncExpert` adapters next to their metrics (the
mouth-sync expert's next to its offsets, in :mod:`talkhead.data.mouth_sync`); the benchmark protocols are in
:mod:`talkhead.benchmarks`.
"""
