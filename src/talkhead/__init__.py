"""talkhead: audio-driven talking heads and audio-visual synchrony metrics.

Implements MS-Sync (Airale et al.), the stabilized synchronization loss (Yaman et al., ECCV) and the
AV-HuBERT lip-sync expert (Yaman et al., CVPRW) as one library. Importing the package is cheap:
heavy modules (torch, transformers, dlib) load when first used.
"""

__version__ = "0.1.0.dev0"
