"""Pure processing: decoding, features, faces and landmarks. Nothing here is an ``nn.Module``.

:mod:`.audio` (16 kHz speech, its features; :mod:`.audio_decode` reads containers), :mod:`.video` (frames at a
fixed rate, H.264 + AAC; :mod:`.video_probe` says what a source holds), :mod:`.faces` (detection, tracking),
:mod:`.face_crops` (the crop geometry every model, metric and dataset shares), :mod:`.landmarks`, :mod:`.mouth`,
:mod:`.phones`, :mod:`.pyramid`, :mod:`.warp`, :mod:`.av_hubert_inputs`.
"""
