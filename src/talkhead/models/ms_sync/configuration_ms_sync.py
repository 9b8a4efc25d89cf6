"""Configurations of the MS-Sync models (Airale et al., MS-Sync, §3): the syncer pyramid, the generator and the
discriminators."""

from __future__ import annotations

from transformers import PretrainedConfig

from ..configuration_utils import PresetConfigMixin

SYNCER_OBJECTIVES = ("infonce", "contrastive")

SYNCER_PRESETS = {
    # the paper-size encoders (MS-Sync code, ``resnet.py``): about 12 M parameters per level
    "paper": {},
    # what we train on 11 minutes of video: about 1.3 M parameters per level
    "small": {"landmark_embed_dim": 96, "encoder_widths": [32, 64, 96, 128], "embed_dim": 128, "center_windows": True},
    # for tests
    "tiny": {
        "landmark_embed_dim": 16,
        "encoder_widths": [8, 8, 16, 16],
        "encoder_blocks": [1, 1, 1, 1],
        "embed_dim": 16,
    },
}


class MSSyncSyncerConfig(PresetConfigMixin, PretrainedConfig):
    r"""Configuration of :class:`MSSyncSyncerModel`: one audio/landmark syncer per pyramid level.

    The defaults are the paper's (Airale et al., MS-Sync, §3.1; encoder sizes from the MS-Sync code): four
    levels, 5-frame landmark windows against 20-frame audio windows at each level's own rate (200, 400, 800 and
    1600 ms), ConvNeXt-1D encoders [2, 2, 2, 2] with 512-d embeddings.

    Args:
        num_levels (`int`, *optional*, defaults to 4): pyramid levels, one syncer each.
        num_landmarks (`int`, *optional*, defaults to 68): points per frame (x, y each).
        audio_dim (`int`, *optional*, defaults to 26): audio feature channels (log filterbanks).
        audio_frames_per_frame (`int`, *optional*, defaults to 4): audio feature frames per video frame.
        landmark_window (`int`, *optional*, defaults to 5): landmark frames per window.
        audio_window (`int`, *optional*, defaults to 20): audio feature frames per window.
        landmark_embed_dim (`int`, *optional*, defaults to 272): per-frame linear embedding of the
            flattened landmarks, the landmark encoder's input width.
        encoder_widths (`list[int]`, *optional*, defaults to `[64, 128, 256, 512]`): target stage widths
            of both encoders (a stage never narrows below its input, except the last).
        encoder_blocks (`list[int]`, *optional*, defaults to `[2, 2, 2, 2]`): blocks per stage.
        embed_dim (`int`, *optional*, defaults to 512): output embedding size.
        kernel_size (`int`, *optional*, defaults to 3): depthwise kernel of the encoder blocks.
        expansion (`int`, *optional*, defaults to 4): hidden-width multiplier of the blocks.
        normalize_embeddings (`bool`, *optional*, defaults to `True`): L2-normalise the embeddings. True
            for the InfoNCE loss syncers; False for the evaluation syncers, whose offset search uses
            Euclidean distances (Airale et al., MS-Sync, §4.3; the offset search of syncnet_python).
        center_windows (`bool`, *optional*, defaults to `False`): subtract each window's temporal mean from its
            landmarks and audio features before the encoders, so a syncer sees motion and spectral change rather
            than face shape and voice. Off in the paper; on in the checkpoints we train on 11 minutes of video,
            where identity is otherwise an easier cue than synchrony (benchmarks/RESULTS.md).
        objective (`str`, *optional*, defaults to `"infonce"`): how the checkpoint was trained:
            `"infonce"` (loss syncers, Airale et al., MS-Sync, eq. 2) or `"contrastive"` (evaluation syncers,
            margin loss).
        contrastive_margin (`float`, *optional*, defaults to 10.0): margin of the contrastive loss.
        initializer_range (`float`, *optional*, defaults to 0.02): std of the truncated-normal init.
    """

    model_type = "ms_sync_syncer"
    presets = SYNCER_PRESETS

    def __init__(
        self,
        num_levels: int = 4,
        num_landmarks: int = 68,
        audio_dim: int = 26,
        audio_frames_per_frame: int = 4,
        landmark_window: int = 5,
        audio_window: int = 20,
        landmark_embed_dim: int = 272,
        encoder_widths: list[int] | tuple[int, ...] = (64, 128, 256, 512),
        encoder_blocks: list[int] | tuple[int, ...] = (2, 2, 2, 2),
        embed_dim: int = 512,
        kernel_size: int = 3,
        expansion: int = 4,
        normalize_embeddings: bool = True,
        center_windows: bool = False,
        objective: str = "infonce",
        contrastive_margin: float = 10.0,
        initializer_range: float = 0.02,
        **kwargs,
    ):
        self.num_levels = num_levels
        self.num_landmarks = num_landmarks
        self.audio_dim = audio_dim
        self.audio_frames_per_frame = audio_frames_per_frame
        self.landmark_window = landmark_window
        self.audio_window = audio_window
        self.landmark_embed_dim = landmark_embed_dim
        self.encoder_widths = list(encoder_widths)
        self.encoder_blocks = list(encoder_blocks)
        self.embed_dim = embed_dim
        self.kernel_size = kernel_size
        self.expansion = expansion
        self.normalize_embeddings = normalize_embeddings
        self.center_windows = center_windows
        self.objective = objective
        self.contrastive_margin = contrastive_margin
        self.initializer_range = initializer_range
        self._validate()
        super().__init__(**kwargs)

    def _validate(self) -> None:
        problems = []
        if not 1 <= self.num_levels <= 6:
            problems.append(f"num_levels={self.num_levels} (1 to 6)")
        if self.audio_window != self.audio_frames_per_frame * self.landmark_window:
            problems.append(
                f"audio_window={self.audio_window} must equal audio_frames_per_frame * landmark_window "
                f"= {self.audio_frames_per_frame * self.landmark_window}"
            )
        if len(self.encoder_widths) != len(self.encoder_blocks) or not self.encoder_widths:
            problems.append(
                f"encoder_widths={self.encoder_widths} and encoder_blocks={self.encoder_blocks} differ in length"
            )
        if any(w <= 0 for w in self.encoder_widths + self.encoder_blocks) or self.embed_dim <= 0:
            problems.append("widths, blocks and embed_dim must be positive")
        if self.kernel_size % 2 == 0:
            problems.append(f"kernel_size={self.kernel_size} must be odd")
        if self.objective not in SYNCER_OBJECTIVES:
            problems.append(f"objective={self.objective!r} (one of {SYNCER_OBJECTIVES})")
        if problems:
            raise ValueError("invalid MSSyncSyncerConfig: " + "; ".join(problems))

    @property
    def level_durations_ms(self) -> list[int]:
        """Window duration of each level in milliseconds (200, 400, 800, 1600 by default)."""
        return [int(1000 * self.landmark_window / 25 * 2**i) for i in range(self.num_levels)]


TEMPORAL_MODULES = ("lstm", "transformer")
MERGES = ("softmax", "sigmoid")

GENERATOR_PRESETS = {
    "paper": {},  # Airale et al., MS-Sync, §4.1, and the MS-Sync code: LSTM 256, FPN width 512, branch trunk 272
    "small": {
        "landmark_hidden_dim": 136,
        "landmark_expand_dim": 272,
        "coordinate_dim": 128,
        "temporal_hidden_dim": 128,
        "fpn_stem_widths": [32, 64, 96],
        "fpn_dim": 128,
        "branch_dim": 96,
        "branch_blocks": 2,
        "expansion": 2,
    },
    "tiny": {
        "landmark_hidden_dim": 16,
        "landmark_expand_dim": 32,
        "coordinate_dim": 16,
        "temporal_hidden_dim": 16,
        "fpn_stem_widths": [8, 8, 16],
        "fpn_dim": 16,
        "branch_dim": 8,
        "branch_blocks": 1,
        "expansion": 2,
    },
}


class MSSyncGeneratorConfig(PresetConfigMixin, PretrainedConfig):
    r"""Configuration of :class:`MSSyncGenerator`, the multi-scale autoregressive landmark generator (Airale et al.,
    MS-Sync, §3.2).

    Args:
        num_landmarks (`int`, *optional*, defaults to 68): points per frame.
        audio_dim (`int`, *optional*, defaults to 26): audio feature channels.
        audio_frames_per_frame (`int`, *optional*, defaults to 4): audio feature frames per video frame.
        landmark_hidden_dim, landmark_expand_dim, coordinate_dim (`int`, *optional*, defaults to 272, 1088, 512):
            the landmark embedding 136 -> hidden -> LayerNorm -> expand -> GELU -> coordinate (MS-Sync code,
            ``encoder_x``).
        temporal_module (`str`, *optional*, defaults to `"lstm"`): `"lstm"` (the paper) or `"transformer"`
            (the authors' later code: causal attention over the last `transformer_context` embeddings).
        temporal_hidden_dim (`int`, *optional*, defaults to 256): LSTM hidden size / transformer output size.
        transformer_layers, transformer_heads, transformer_context (`int`, *optional*, defaults to 2, 4, 40).
        fpn_stem_widths (`list[int]`, *optional*, defaults to `[64, 128, 256]`): the audio stem (100 Hz -> 25 Hz)
            widths before `fpn_dim`; strides 1, 2, 1, 2 (MS-Sync code, ``FeaturePyramidNetwork``).
        fpn_dim (`int`, *optional*, defaults to 512): width of every audio pyramid level.
        fpn_kernel (`int`, *optional*, defaults to 7): kernel of the stride-2 blocks building levels 2 and up.
        num_branches (`int`, *optional*, defaults to 4): pyramid levels, one generator branch each. 1 gives the
            single-branch (single-scale) generator of the paper's ablation.
        branch_dim (`int`, *optional*, defaults to 272): trunk width of each branch.
        branch_blocks (`int`, *optional*, defaults to 3): kernel-1 ConvNeXt blocks per head before the output block.
        expansion (`int`, *optional*, defaults to 4): hidden multiplier of every ConvNeXt block.
        merge (`str`, *optional*, defaults to `"softmax"`): branch weights per landmark, softmax over branches
            (eq. 8) or independent sigmoids.
        num_warmup_frames (`int`, *optional*, defaults to 3): ground-truth frames that start a sequence (n_obs).
        initial_state_noise (`float`, *optional*, defaults to 0.0): std of noise added to the initial temporal state
            (off in the paper; for diversity experiments).
        initializer_range (`float`, *optional*, defaults to 0.02).
    """

    model_type = "ms_sync_generator"
    presets = GENERATOR_PRESETS

    def __init__(
        self,
        num_landmarks: int = 68,
        audio_dim: int = 26,
        audio_frames_per_frame: int = 4,
        landmark_hidden_dim: int = 272,
        landmark_expand_dim: int = 1088,
        coordinate_dim: int = 512,
        temporal_module: str = "lstm",
        temporal_hidden_dim: int = 256,
        transformer_layers: int = 2,
        transformer_heads: int = 4,
        transformer_context: int = 40,
        fpn_stem_widths: list[int] | tuple[int, ...] = (64, 128, 256),
        fpn_dim: int = 512,
        fpn_kernel: int = 7,
        num_branches: int = 4,
        branch_dim: int = 272,
        branch_blocks: int = 3,
        expansion: int = 4,
        merge: str = "softmax",
        num_warmup_frames: int = 3,
        initial_state_noise: float = 0.0,
        initializer_range: float = 0.02,
        **kwargs,
    ):
        self.num_landmarks = num_landmarks
        self.audio_dim = audio_dim
        self.audio_frames_per_frame = audio_frames_per_frame
        self.landmark_hidden_dim = landmark_hidden_dim
        self.landmark_expand_dim = landmark_expand_dim
        self.coordinate_dim = coordinate_dim
        self.temporal_module = temporal_module
        self.temporal_hidden_dim = temporal_hidden_dim
        self.transformer_layers = transformer_layers
        self.transformer_heads = transformer_heads
        self.transformer_context = transformer_context
        self.fpn_stem_widths = list(fpn_stem_widths)
        self.fpn_dim = fpn_dim
        self.fpn_kernel = fpn_kernel
        self.num_branches = num_branches
        self.branch_dim = branch_dim
        self.branch_blocks = branch_blocks
        self.expansion = expansion
        self.merge = merge
        self.num_warmup_frames = num_warmup_frames
        self.initial_state_noise = initial_state_noise
        self.initializer_range = initializer_range
        self._validate()
        super().__init__(**kwargs)

    def _validate(self) -> None:
        problems = []
        if self.temporal_module not in TEMPORAL_MODULES:
            problems.append(f"temporal_module={self.temporal_module!r} (one of {TEMPORAL_MODULES})")
        if self.merge not in MERGES:
            problems.append(f"merge={self.merge!r} (one of {MERGES})")
        if not 1 <= self.num_branches <= 6:
            problems.append(f"num_branches={self.num_branches} (1 to 6)")
        if self.num_warmup_frames < 1:
            problems.append(f"num_warmup_frames={self.num_warmup_frames} (at least 1)")
        if self.audio_frames_per_frame != 4:
            problems.append(
                f"audio_frames_per_frame={self.audio_frames_per_frame}: the audio stem decimates by exactly 4"
            )
        if len(self.fpn_stem_widths) != 3:
            problems.append(f"fpn_stem_widths={self.fpn_stem_widths} must hold 3 widths")
        if self.fpn_kernel % 2 == 0:
            problems.append(f"fpn_kernel={self.fpn_kernel} must be odd")
        if self.temporal_module == "transformer" and self.temporal_hidden_dim % self.transformer_heads:
            problems.append(
                f"temporal_hidden_dim={self.temporal_hidden_dim} must divide by "
                f"transformer_heads={self.transformer_heads}"
            )
        if problems:
            raise ValueError("invalid MSSyncGeneratorConfig: " + "; ".join(problems))


DISCRIMINATOR_PRESETS = {
    "paper": {},  # MS-Sync and SUHMo code: frame embedding 408 / 1632 / 512, LSTM 1024, windows 5-40
    "small": {
        "frame_hidden_dim": 136,
        "frame_expand_dim": 272,
        "frame_embed_dim": 128,
        "frame_blocks": 2,
        "frame_classifier_dim": 64,
        "lstm_hidden_dim": 192,
        "expansion": 2,
    },
    "tiny": {
        "frame_hidden_dim": 16,
        "frame_expand_dim": 32,
        "frame_embed_dim": 16,
        "frame_blocks": 1,
        "frame_classifier_dim": 8,
        "lstm_hidden_dim": 16,
        "expansion": 2,
    },
}


class MSSyncDiscriminatorConfig(PresetConfigMixin, PretrainedConfig):
    r"""Configuration of :class:`MSSyncDiscriminators`: D_f, D_s and D_s^j of SUHMo / MS-Sync (Airale et al.,
    MS-Sync, §3.3).

    Args:
        num_landmarks (`int`, *optional*, defaults to 68).
        frame_hidden_dim, frame_expand_dim, frame_embed_dim (`int`, *optional*, defaults to 408, 1632, 512):
            the frame embedding 136 -> hidden -> LayerNorm -> expand -> GELU -> embed (MS-Sync code).
        frame_blocks (`int`, *optional*, defaults to 3): kernel-1 ConvNeXt blocks of D_f before its 256-d block.
        frame_classifier_dim (`int`, *optional*, defaults to 256): width of D_f's last block.
        lstm_hidden_dim (`int`, *optional*, defaults to 1024): LSTM of D_s and D_s^j (H; the heads are 2H wide).
        windows (`list[int]`, *optional*, defaults to `[5, 10, 20, 40]`): chunk lengths of the sequence critics.
        beta_init (`float`, *optional*, defaults to 5.0): initial β of the distance decay c(d) = max(d, 1)^(-1/β).
        use_pair_discriminator (`bool`, *optional*, defaults to `True`): include D_s^j (PacGAN pairs).
        expansion (`int`, *optional*, defaults to 4).
    """

    model_type = "ms_sync_discriminator"
    presets = DISCRIMINATOR_PRESETS

    def __init__(
        self,
        num_landmarks: int = 68,
        frame_hidden_dim: int = 408,
        frame_expand_dim: int = 1632,
        frame_embed_dim: int = 512,
        frame_blocks: int = 3,
        frame_classifier_dim: int = 256,
        lstm_hidden_dim: int = 1024,
        windows: list[int] | tuple[int, ...] = (5, 10, 20, 40),
        beta_init: float = 5.0,
        use_pair_discriminator: bool = True,
        expansion: int = 4,
        initializer_range: float = 0.02,
        **kwargs,
    ):
        self.num_landmarks = num_landmarks
        self.frame_hidden_dim = frame_hidden_dim
        self.frame_expand_dim = frame_expand_dim
        self.frame_embed_dim = frame_embed_dim
        self.frame_blocks = frame_blocks
        self.frame_classifier_dim = frame_classifier_dim
        self.lstm_hidden_dim = lstm_hidden_dim
        self.windows = list(windows)
        self.beta_init = beta_init
        self.use_pair_discriminator = use_pair_discriminator
        self.expansion = expansion
        self.initializer_range = initializer_range
        if not self.windows or min(self.windows) < 2:
            raise ValueError(f"invalid MSSyncDiscriminatorConfig: windows={self.windows} must be lengths of at least 2")
        super().__init__(**kwargs)
