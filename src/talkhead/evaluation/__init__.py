"""Evaluation orchestration: decode and track videos once, then feed the pure metrics of :mod:`talkhead.metrics`.

* :mod:`.tracking`: a video file -> per-frame landmarks at a fixed rate (what every video metric needs);
* :mod:`.split_clips`: the raw clips behind a split of a dataset written by ``talkhead preprocess``;
* :mod:`.lip_follow`: ``talkhead benchmark lip-follow`` (issue #14);
* :mod:`.mouth_benchmark`: ``talkhead benchmark mouth`` (issue #13).
"""
