"""Files in and out: the media a command reads (checked, probed, decoded) and every output it writes.

:mod:`.inputs` (checks on a named input before anything opens it), :mod:`.containers` (opening media with FFmpeg's
errors turned into messages, the common time origin, a stream's length), :mod:`.audio` (any audio or a video's track
to 16 kHz mono, whole or streamed), :mod:`.video_probe` (what a video source holds, without decoding it),
:mod:`.video` (frames at a fixed rate), :mod:`.video_writer` (H.264 + AAC) and :mod:`.outputs` (every output whole or
not at all, disk-full and interrupted runs).

A layer just above :mod:`talkhead.errors` and :mod:`talkhead.defaults`, which are all it imports, so every other
part of the package may use it.
"""
