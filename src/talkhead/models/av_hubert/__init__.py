"""AV-HuBERT encoder as a lip-sync expert (Shi et al. 2022; Yaman et al., CVPRW), with a fairseq checkpoint
converter."""

from .configuration_av_hubert import AVHubertConfig
from .modeling_av_hubert import AVHubertModel, AVHubertOutput

__all__ = ["AVHubertConfig", "AVHubertModel", "AVHubertOutput"]
