"""Training losses of the three systems, each written once.

* :func:`info_nce_loss`, :func:`infonce_margin`: the MS-Sync loss syncers (Airale et al., MS-Sync, §3.1, eq. 2).
* :func:`syncnet_contrastive_loss`: the evaluation syncers (Airale et al., MS-Sync, §4.3) and SyncNet-style
  experts.
* :func:`hinge_discriminator_loss`, :func:`hinge_generator_loss`, :func:`multiscale_sync_loss`: the MS-Sync GAN
  (Airale et al., MS-Sync, eq. 4 and 9-13).
* :func:`sync_bce_loss`, :func:`lipsync_loss`, :func:`stabilized_sync_loss`, :func:`adaptive_triplet_loss`,
  :func:`nonsaturating_discriminator_loss`, :func:`nonsaturating_generator_loss`, :func:`perceptual_loss`: the
  stabilized-sync face models (Yaman et al., stabilized sync, §3.3-3.4; Wav2Lip for the plain lip-sync loss); the
  VGG-19 features the perceptual loss reads are in :mod:`talkhead.backbones.vgg`.
* :func:`av_hubert_sync_loss`, :func:`av_hubert_cosine_loss`, :func:`face_mouth_rois`: the AV-HuBERT lip-sync
  loss of Yaman et al. (AV-HuBERT expert, §3.5) in its three variants, and the cheap mouth-crop fallback it trains
  with.
* :func:`masked_l1_loss`, :func:`image_gradient_loss`: the mouth-interior generator.

Under mixed precision (``accelerate launch --mixed_precision bf16``) the models' outputs arrive in bfloat16, whose 8
bits of mantissa make a softmax over cosines / temperature, a log near 0 and a mean over a batch of patch scores
coarse enough to move the loss by per cents. Every loss here computes in float32 (:func:`in_float32`): its tensor
arguments are cast up and autocast is off inside it; the gradient flows back into the bfloat16 outputs.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F


def _to_float32(value):
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return value.float()
    if isinstance(value, (list, tuple)):
        return type(value)(_to_float32(item) for item in value)
    return value


def in_float32(loss):
    """``loss`` computed in float32 whatever precision its inputs and the surrounding autocast are in."""

    @functools.wraps(loss)
    def wrapped(*args, **kwargs):
        args, kwargs = _to_float32(args), {key: _to_float32(value) for key, value in kwargs.items()}
        tensors = [a for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)]
        device = tensors[0].device.type if tensors else "cpu"
        with torch.autocast(device_type=device, enabled=False):
            return loss(*args, **kwargs)

    return wrapped


def infonce_margin(
    step: int, start: float = 1e-3, growth: float = 1.002, every: int = 1000, maximum: float = 0.4
) -> float:
    """The positive margin δ at ``step``: ``start`` multiplied by ``growth`` every ``every`` steps, capped."""
    periods = step // every
    if growth > 1 and periods * math.log(growth) >= math.log(maximum / start):
        return maximum
    return min(maximum, start * growth**periods)


@in_float32
def info_nce_loss(
    audio_embeddings: torch.Tensor, landmark_embeddings: torch.Tensor, margin: float = 0.0, temperature: float = 1.0
) -> torch.Tensor:
    """Symmetric InfoNCE over a group of G aligned (audio, landmark) window pairs (Airale et al., MS-Sync, eq. 2,
    in the log form of the authors' syncer training code).

    ``M[a, b] = cos(e_a(a_a), e_x(x_b))``; every other pair of the group is a negative. ``margin`` is
    subtracted from the positives (the diagonal) only, an additive-margin softmax.

    Args:
        audio_embeddings, landmark_embeddings: (G, D); normalised inside, so any scale works.
        margin: δ of the current step (0 at validation).
        temperature: divides the similarities (1 in the paper).
    """
    if audio_embeddings.shape != landmark_embeddings.shape or audio_embeddings.dim() != 2:
        raise ValueError(
            f"expected two (G, D) tensors, got {tuple(audio_embeddings.shape)} and {tuple(landmark_embeddings.shape)}"
        )
    similarity = F.normalize(audio_embeddings, dim=-1) @ F.normalize(landmark_embeddings, dim=-1).T
    logits = (
        similarity - margin * torch.eye(len(similarity), device=similarity.device, dtype=similarity.dtype)
    ) / temperature
    targets = torch.arange(len(logits), device=logits.device)
    # rows: each audio window against all landmark windows; columns: each landmark window against all audio
    return F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets)


@in_float32
def syncnet_contrastive_loss(
    landmark_embeddings: torch.Tensor, audio_embeddings: torch.Tensor, margin: float = 10.0
) -> torch.Tensor:
    """SyncNet's margin-contrastive loss over a group of aligned windows of one clip (Chung & Zisserman 2016, as
    the evaluation syncers of Airale et al., MS-Sync, §4.3, train).

    Positives: ``‖e_x - e_a‖²`` of aligned pairs. Negatives: each landmark window against the audio of
    the next window in the group (a cyclic shift by one): ``max(0, m - ‖e_x - e_a'‖)²``.
    Loss = ½ (mean positive + mean negative).
    """
    positive = (landmark_embeddings - audio_embeddings).pow(2).sum(-1)
    shifted = torch.roll(audio_embeddings, shifts=-1, dims=0)
    negative_distance = (landmark_embeddings - shifted).pow(2).sum(-1).clamp_min(1e-12).sqrt()
    negative = F.relu(margin - negative_distance).pow(2)
    return 0.5 * (positive.mean() + negative.mean())


def _weighted_mean(values: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    if weights is None:
        return values.mean()
    return (values * weights).sum() / weights.sum().clamp_min(1e-6)


@in_float32
def hinge_discriminator_loss(
    real_scores: torch.Tensor, fake_scores: torch.Tensor, weights: torch.Tensor | None = None
) -> torch.Tensor:
    """Geometric-GAN critic loss (Airale et al., MS-Sync, eq. 12): mean max(0, 1 - D(real)) + mean max(0, 1 +
    D(fake)); ``weights`` (same shape as the scores) make the means weighted: only the patches that hold generated
    pixels count."""
    return _weighted_mean(F.relu(1.0 - real_scores), weights) + _weighted_mean(F.relu(1.0 + fake_scores), weights)


@in_float32
def hinge_generator_loss(fake_scores: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Geometric-GAN generator loss: -mean D(fake) (weighted as :func:`hinge_discriminator_loss`)."""
    return -_weighted_mean(fake_scores, weights)


def patch_weights(masks: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) masks of generated pixels -> the weight of each patch score (B, 1, h, w): 1 where the patch's
    cell holds a generated pixel. A patch critic whose mean runs over a crop that is mostly real copies learns
    nothing about the small generated part (its loss stays at 2: measured on mouth crops)."""
    return F.adaptive_max_pool2d(masks.to(scores.dtype), scores.shape[-2:])


def multiscale_sync_loss(
    syncers, landmarks: torch.Tensor, audio: torch.Tensor, levels: list[int] | None = None
) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
    """MS-Sync's multi-scale AV synchrony loss (Airale et al., MS-Sync, §3.1 and eq. 4):
    the mean over levels of -mean cos(e_a, e_x).

    ``syncers`` are the frozen loss syncers; gradients flow through them and through the pyramid into
    ``landmarks`` (B, T, 68, 2). ``levels=[1]`` is the single-scale loss of the paper's ablation.
    Returns the loss and each level's term.
    """
    output = syncers(landmarks, audio, levels=levels)
    terms = {level: -scores.float().mean() for level, scores in zip(output.levels, output.scores, strict=False)}
    return torch.stack(list(terms.values())).mean(), terms


@in_float32
def sync_bce_loss(scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """BCE of cosine scores in [0, 1] against 0/1 labels: how AVSyncNet and SyncNet train (Yaman et al.,
    stabilized sync, §3.4; Wav2Lip, ``color_syncnet_train.py``)."""
    return F.binary_cross_entropy(scores.clamp(1e-7, 1 - 1e-7), labels.to(scores.dtype))


@in_float32
def offset_classification_loss(
    face_embeddings: torch.Tensor, audio_embeddings: torch.Tensor, temperature: float = 0.1
) -> tuple[torch.Tensor, torch.Tensor]:
    """Multi-way sync loss (after Chung et al., "Perfect match", 2019) on groups of M windows of one clip.

    ``face_embeddings`` and ``audio_embeddings`` are (G, M, D), window m of each group from the same
    moment; face window m must pick audio window m out of the M: cross-entropy over cosine /
    ``temperature``. Our deviation from the BCE that AVSyncNet and SyncNet train with: on 11 minutes of video, BCE
    with one negative per sample overfits before it learns sync. Returns the loss and the (G, M, M) cosines.
    """
    cosines = F.cosine_similarity(face_embeddings[:, :, None], audio_embeddings[:, None], dim=-1, eps=1e-8)
    target = torch.arange(cosines.shape[1], device=cosines.device).expand(cosines.shape[:2])
    return F.cross_entropy((cosines / temperature).flatten(0, 1), target.flatten()), cosines


@in_float32
def lipsync_loss(scores: torch.Tensor) -> torch.Tensor:
    """Wav2Lip's lip-sync loss: -log cos(generated lips, audio) with the expert frozen (Wav2Lip,
    ``wav2lip_train.py``)."""
    return -torch.log(scores.clamp(1e-7, 1.0)).mean()


@in_float32
def stabilized_sync_loss(x: torch.Tensor, y: torch.Tensor, d: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """L_ss (Yaman et al., stabilized sync, eq. 3-4): -log(1 - (|x - y| + ε) / (|x - y| + |y - d| + ε)).

    x = AVSIM(generated, audio) carries the gradient; y = AVSIM(ground truth, audio) and d =
    AVSIM(silent identity reference, audio) are constants. About 0 when x = y; a deviation costs
    more when the reference scores close to the ground truth (copying it would be easy).
    """
    y, d = y.detach(), d.detach()
    gap = (x - y).abs()
    ratio = (gap + eps) / (gap + (y - d).abs() + eps)
    return -torch.log((1 - ratio).clamp_min(1e-6)).mean()


@in_float32
def adaptive_triplet_loss(
    generated: torch.Tensor, target: torch.Tensor, reference: torch.Tensor, alpha: float = 1.0, eps: float = 1e-6
) -> torch.Tensor:
    """L_at (Yaman et al., stabilized sync, eq. 2) on per-frame feature vectors (N, D), L2-normalised here
    (our choice: D then lies in [0, 2], commensurate with α = 1 and the ratio term).

    [D(g, t) - D(g, r) / D(t, r) + α]_+ with Euclidean D, the denominator a floored constant, and
    [z]_+ = max(z, ε); averaged over frames.
    """
    g, t, r = (F.normalize(f.flatten(1), dim=-1) for f in (generated, target, reference))
    scale = (t - r).norm(dim=-1).detach().clamp_min(1e-6)
    value = (g - t).norm(dim=-1) - (g - r).norm(dim=-1) / scale + alpha
    return value.clamp_min(eps).mean()


@in_float32
def nonsaturating_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """-log σ(D(real)) - log(1 - σ(D(fake))) (Goodfellow et al. 2014, the GAN loss of Yaman et al., stabilized
    sync, §3.3)."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


@in_float32
def nonsaturating_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """-log σ(D(fake)) (Goodfellow et al. 2014, non-saturating)."""
    return F.softplus(-fake_logits).mean()


PERCEPTUAL_WEIGHTS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)


def perceptual_loss(vgg, generated: torch.Tensor, target: torch.Tensor, distance: str = "l1") -> torch.Tensor:
    """Σ_i c_i · mean distance of VGG-19 relu{i}_1 maps (L1 in Yaman et al., stabilized sync,
    eq. 1; L2 in Yaman et al., AV-HuBERT expert, eq. 2);
    ``vgg`` is a :class:`talkhead.backbones.vgg.VGG19Features`."""
    measure = in_float32(F.l1_loss if distance == "l1" else F.mse_loss)
    with torch.no_grad():
        targets = vgg(target)
    return sum(c * measure(g, t) for c, g, t in zip(PERCEPTUAL_WEIGHTS, vgg(generated), targets, strict=False))


# ---- AV-HuBERT lip-sync loss (Yaman et al., "Audio-Visual Speech Representation Expert for Enhanced Talking
# Face Video Generation and Evaluation", CVPRW 2024, §3.5) --------------------------------------------

AV_HUBERT_VARIANTS = ("unsupervised", "visual_visual", "multimodal")
AV_HUBERT_PIXEL_MEAN, AV_HUBERT_PIXEL_STD = 0.421, 0.165


def face_mouth_rois(faces: torch.Tensor, crop_size: int = 88) -> torch.Tensor:
    """APPROXIMATION of AV-HuBERT's mouth crops, differentiable: (..., 3, 96, 96) faces in [0, 1] -> (..., 88, 88).

    The cheap fallback for the paper's crops of the full frame (Yaman et al., AV-HuBERT expert, §3.5): a fixed
    mouth box of the 96x96 face (rows 48-95, columns 16-79) bilinearly resized to 96x96, grayscale (0.299 R +
    0.587 G + 0.114 B), centre crop 88, normalised with mean 0.421 and std 0.165 (AV-HuBERT code,
    ``hubert_dataset.py``). The real crops (:func:`talkhead.processing.mouth_crops.mouth_rois`) come from
    the full frame, warped by the landmarks onto a mean face; this box ignores head pose and
    stretches the mouth (48 rows and 64 columns both become 96), so AV-HuBERT sees a distorted mouth. It is
    what training on 96x96 faces alone allows (no full frames, no per-frame warp in the dataset).
    """
    size = faces.shape[-1]
    scale = size / 96
    box = faces[..., round(48 * scale) :, round(16 * scale) : round(80 * scale)]
    flat = box.reshape(-1, *box.shape[-3:])
    resized = F.interpolate(flat, size=(96, 96), mode="bilinear", align_corners=False)
    weights = resized.new_tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    gray = (resized * weights).sum(1)  # (N, 96, 96)
    offset = (96 - crop_size) // 2
    gray = gray[:, offset : offset + crop_size, offset : offset + crop_size]
    return ((gray - AV_HUBERT_PIXEL_MEAN) / AV_HUBERT_PIXEL_STD).reshape(*faces.shape[:-3], crop_size, crop_size)


@in_float32
def av_hubert_cosine_loss(features: torch.Tensor, targets: torch.Tensor, interval: slice | None = None) -> torch.Tensor:
    """-log(clamp(mean_t cos(features_t, targets_t), 1e-6, 1)), averaged over the batch (Yaman et al., AV-HuBERT
    expert, eq. 1).

    ``features``, ``targets``: (B, T, D) AV-HuBERT outputs. The cosine is taken per time step and averaged
    over ``interval`` (the generated frames; all of them by default) before the log (our reading of the paper's
    "cosine similarity followed by BCE", which leaves the order open). 0 when every cosine is 1.
    """
    cosines = F.cosine_similarity(features, targets, dim=-1, eps=1e-8)  # (B, T)
    if interval is not None:
        cosines = cosines[:, interval]
    return -torch.log(cosines.mean(dim=1).clamp(1e-6, 1.0)).mean()


def av_hubert_sync_loss(
    model,
    generated: torch.Tensor,
    audio: torch.Tensor | None = None,
    target: torch.Tensor | None = None,
    variant: str = "unsupervised",
    interval: slice | None = None,
) -> torch.Tensor:
    """The AV-HuBERT lip-sync loss of Yaman et al. (AV-HuBERT expert, eq. 1 and §4.5) with a frozen
    :class:`AVHubertModel` in eval mode.

    * ``unsupervised`` (the paper's choice, eq. 1): -log cos(TE(V^G, 0), TE(0, A));
    * ``visual_visual`` (ablation): -log cos(TE(V^G, 0), TE(V^GT, 0));
    * ``multimodal`` (ablation): -log cos(TE(V^G, A), TE(V^GT, A)).

    Args:
        generated: (B, 1, T, 88, 88) or (B, T, 88, 88) normalised mouth crops of the generated video (for
            example the generated window pasted into its ground-truth context); the gradient flows through them.
        audio: (B, T, 104) stacked log filterbanks (unsupervised, multimodal).
        target: ground-truth mouth crops shaped like ``generated`` (visual_visual, multimodal).
        interval: the time steps of the generated frames (e.g. ``slice(s, s + 5)``); all by default.
    The reference side (audio alone, or the ground truth) carries no gradient.
    """
    if variant not in AV_HUBERT_VARIANTS:
        raise ValueError(f"variant={variant!r}; choose one of {AV_HUBERT_VARIANTS}")
    needs = {"unsupervised": ("audio",), "visual_visual": ("target",), "multimodal": ("audio", "target")}[variant]
    given = {"audio": audio, "target": target}
    missing = [name for name in needs if given[name] is None]
    if missing:
        raise ValueError(f"the {variant} AV-HuBERT loss needs {' and '.join(missing)}")
    video_audio = audio if variant == "multimodal" else None
    features = model(video=generated, audio=video_audio).last_hidden_state
    with torch.no_grad():
        if variant == "unsupervised":
            reference = model(audio=audio).last_hidden_state
        else:
            reference = model(video=target, audio=video_audio).last_hidden_state
    return av_hubert_cosine_loss(features, reference, interval)


@in_float32
def masked_l1_loss(images: torch.Tensor, targets: torch.Tensor, masks: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """Mean absolute error inside ``masks`` (B, 1, H, W): the mouth-interior generator's reconstruction loss (its
    output equals the input outside the mask, so a whole-image mean would shrink with the mouth's size)."""
    return ((images - targets).abs() * masks).sum() / (masks.sum() * images.shape[1] + eps)


@in_float32
def image_gradient_loss(images: torch.Tensor, targets: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """:func:`masked_l1_loss` of the horizontal and vertical pixel differences: edges (teeth, lip lines) must be
    where the target has them, which L1 on the pixels alone lets blur away."""

    def differences(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x[..., :, 1:] - x[..., :, :-1], x[..., 1:, :] - x[..., :-1, :]

    (image_x, image_y), (target_x, target_y) = differences(images), differences(targets)
    mask_x = torch.maximum(masks[..., :, 1:], masks[..., :, :-1])
    mask_y = torch.maximum(masks[..., 1:, :], masks[..., :-1, :])
    return masked_l1_loss(image_x, target_x, mask_x) + masked_l1_loss(image_y, target_y, mask_y)


@in_float32
def feature_matching_loss(real_features: list[torch.Tensor], fake_features: list[torch.Tensor]) -> torch.Tensor:
    """Mean L1 between a critic's activations on real and generated images, layer by layer (pix2pixHD's feature
    matching): the generator matches the statistics the critic sees, which a pixel loss averages away. The real
    activations are targets (detached)."""
    terms = [(fake - real.detach()).abs().mean() for real, fake in zip(real_features, fake_features, strict=True)]
    return sum(terms) / len(terms)
