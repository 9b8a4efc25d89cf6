"""Pure processing: features, faces and landmarks. Nothing here is an ``nn.Module``; files are read and written by
:mod:`talkhead.io`.

:mod:`.audio` (the features of 16 kHz speech), :mod:`.faces` (detection, tracking),
:mod:`.face_crops` (the crop geometry every model, metric and dataset shares), :mod:`.landmarks`, :mod:`.mouth`,
:mod:`.mouth_crops` (the mouth-interior square, the lip-reading ROI), :mod:`.phones`,
:mod:`.tracked_clip`. A model's own input transform sits beside the model (``models/<name>/feature_extraction_*.py``).
"""
