"""Every default the package, its CLI and its Space share, defined once so that they cannot disagree.

The options dataclasses (:class:`~talkhead.options.LipSyncOptions`, :class:`~talkhead.options.TalkingHeadOptions`), the
pipelines, the ``talkhead`` commands, the Space and the benchmarks read these names; none of them types a default's
value again. The module imports nothing, so the CLI can build its parsers (``talkhead --help``) without loading a model
stack.
"""

# every model works at 25 fps (Airale et al., MS-Sync, §4.1); inputs at other rates are resampled by time
VIDEO_FPS = 25

# shipped checkpoints (hub_configs/<name>), by their role
MOUTH_MOTION = "talkhead/mouth-motion"  # speech -> mouth shapes: lip-sync's and talking-head's mouths
LIVE_MOUTH_MOTION = "talkhead/mouth-motion-live"  # the same, reading 4 frames ahead at most: a live avatar's mouths
HEAD_MOTION = "talkhead/ms-sync-short"  # MS-Sync generator: speech -> 68-landmark head and lip motion
FACE_GENERATOR = "talkhead/stable-sync-face"  # the paper's G_L (lip-sync's generator renderer, talking-head --repaint)
MOUTH_INTERIOR = "talkhead/mouth-interior"  # teeth, tongue and throat where a talking photo's mouth opens
SILENT_LIP = "talkhead/stable-sync-silent-lip"  # G_S: closes the mouths of G_L's identity references
MOUTH_SYNC = "talkhead/mouth-sync"  # the mouth-sync expert (evaluate video --mouth-sync-model, benchmarks)
SYNC_EXPERT = "talkhead/syncnet-eval"  # our SyncNet expert (--sync-expert-model of evaluate video, benchmark lip-sync)
EVAL_SYNCERS = "talkhead/ms-sync-eval-syncers"  # MS-Sync evaluation syncers

# how lip-sync paints the predicted mouth: the video's own mouths ("retrieval") or G_L ("generator")
RENDERERS = ("retrieval", "generator")
RENDERER = "retrieval"

MAX_MOTION_SCALE = 4.0  # the largest head motion, lip and expression scale of a talking head (TalkingHeadOptions)
LANGUAGE = "auto"  # the phone recogniser's words where it understood, its phone loop elsewhere (processing.phones)
FACE = "largest"  # which face lip-sync dubs when there are several (processing.face_choice)
POOL_SIZE = 750  # at most this many of the video's frames lend their mouths (retrieval renderer)
RENDER_BATCH_SIZE = 16  # frames rendered at once (fewer where full-size frames would pass 64 MB)

# lip-sync's policies (LipSyncOptions): frames without a face, and audio that outlasts the video
MISSING_FACE_POLICIES = ("passthrough", "interpolate", "error")
ON_MISSING_FACE = "passthrough"
AUDIO_LONGER_POLICIES = ("loop", "bounce", "trim")
AUDIO_LONGER = "bounce"

TRACK_SIDE = 640  # longest side of the frames the face tracker sees (evaluate, preprocess, lip-sync's tracking pass)
CRF = 18  # x264 quality of every video the package writes (lower is better)
FEATHER = 0.1  # width of a paste-back seam, as a fraction of the face box
