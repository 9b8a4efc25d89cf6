"""The README.md of a saved avatar folder: where it came from, what it holds, how to drive it."""

from __future__ import annotations


def avatar_card(config: dict) -> str:
    """A model-card style README for an avatar saved with ``config`` (its ``avatar_config.json``)."""
    loop = config["loop"]
    seconds = (loop["stop"] - loop["start"]) / config["fps"]
    how = "forward and back (no seamless loop point was found)" if loop["bounce"] else "forward"
    width, height = config["size"]
    return f"""---
library_name: talkhead
tags:
- talkhead
- lip-sync
- live-avatar
---

# Live avatar from `{config["source"]}`

A prepared talkhead avatar: a {width}x{height} video loop of {seconds:.1f} s played {how}, with
{config["pool_frames"]} of the video's own mouths pooled, lip-synced live to speech by the `{config["mouth_model"]}`
mouth-motion model. Prepared in {config["prepared_seconds"]} s from {config["source_frames"]} frames.

## Use

```bash
talkhead live --avatar AVATAR_FOLDER --audio speech.wav -o live.mp4
```

```python
from talkhead import LipSyncAvatar

avatar = LipSyncAvatar.from_pretrained("AVATAR_FOLDER")
stream = avatar.stream()
for frame, audio in stream.push(chunk):  # 16 kHz mono chunks of any size, as they arrive
    ...
```

## Contents

- `avatar_config.json`: frame rate, size, idle loop, mouth-motion model
- `avatar.safetensors`: the loop's landmarks, the mouth pool, the speaker's mean and shut mouth
- `loop.mp4`: the loop's frames

The avatar holds frames of its source video: share it only as far as that video's terms allow.
"""
