"""The benchmark protocols behind ``talkhead benchmark KIND`` (the scripts that write RESULTS.md are in the
repository's ``benchmarks/`` folder and call these).

* :mod:`.papers`: ``ms-sync`` (MS-Sync Table 3) and ``lip-sync`` (stabilized-sync Table 1) on a preprocessed
  split, and the Markdown table of their reports;
* :mod:`.mouth`: ``mouth``, the dubbed mouth's quality at video resolution;
* :mod:`.lip_follow`: ``lip-follow``, whether the generated mouth follows the speech;
* :mod:`.speed`: ``speed``, frames/s and memory of each pipeline stage;
* :mod:`.split_clips`: the raw videos behind a split, which ``mouth`` and ``lip-follow`` re-read.

Every video they score is tracked with :func:`talkhead.processing.tracked_clip.track_clip`, the convention
``talkhead preprocess`` and ``talkhead evaluate`` share.
"""
