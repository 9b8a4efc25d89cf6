"""The names ``talkhead evaluate video --metrics`` takes, apart from the metrics themselves: the command's parser
lists them in its help, and importing :mod:`talkhead.evaluation.evaluate` for that would load the model stack on
every ``talkhead`` command."""

METRICS = (
    "expert_sync",
    "syncnet_v2",
    "ms_sync",
    "mouth_sync",
    "avs_u",
    "avs_m",
    "avs_v",
    "ssim",
    "psnr",
    "lmd",
    "ifc",
    "identity",
)
GROUPS = {
    "all": METRICS,
    "sync": ("expert_sync", "syncnet_v2", "ms_sync", "mouth_sync", "avs_u"),
    "avs": ("avs_u", "avs_m", "avs_v"),
    "image": ("ssim", "psnr", "lmd", "ifc", "identity"),
}
