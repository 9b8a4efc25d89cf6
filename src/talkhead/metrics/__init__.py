"""Metrics: functions of arrays (and the models that embed them), no files, no decoding, no tracking.

* :mod:`.sync`: SyncNet's offset search, :class:`~.sync.SyncExpert` (what every sync expert is to it) and
  :func:`~.sync.expert_offset`; the experts: :mod:`.face_sync` (our SyncNet expert, AVSyncNet), :mod:`.lse`
  (SyncNet v2, LSE-D / LSE-C), :mod:`.landmarks` (the MS-Sync syncers per level, landmark Fréchet distance),
  :mod:`.avs` (AV-HuBERT, AVS_u / AVS_m / AVS_v); the mouth-sync expert's is :mod:`talkhead.data.mouth_sync`, with
  its offsets (``talkhead preprocess`` measures clips with it and its validation reads training windows);
* :mod:`.image` (SSIM, PSNR, LMD, IFC, identity), :mod:`.mouth_quality` (the mouth box at video resolution),
  :mod:`.lip_follow` (mouth opening against a reference), :mod:`.articulation` (closures on p/b/m, rounding,
  labiodentals, opening on open vowels, mouth-box flicker, against the real mouth; the consonants' lip contacts in
  :mod:`.lip_contacts`) on the frames of phone segments (:mod:`.phone_frames`).

Decoding and tracking are :mod:`talkhead.evaluation`'s; the benchmark protocols are :mod:`talkhead.benchmarks`'.
"""
