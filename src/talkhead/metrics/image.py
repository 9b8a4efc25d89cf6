"""Image-domain metrics of generated faces (Yaman et al., stabilized sync, §4): SSIM, PSNR, IFC, LMD and identity
similarity.

SSIM and PSNR come from scikit-image (Gaussian window σ = 1.5, i.e. 11 taps, peak 255), on faces at
96x96 scaled to [0, 255]. Inputs are (N, 3, H, W) tensors or arrays in [0, 1], or (N, H, W, 3) uint8.
LMD uses dlib's 68-point predictor on the whole crop (the paper uses FAN) and identity similarity
dlib's face-embedding net, both from face-recognition-models.
"""

from __future__ import annotations

import numpy as np

from ..processing.faces import default_face_embedder, default_landmark_predictor
from ..processing.landmarks import mouth_opening


def _to_uint8_scale(images) -> np.ndarray:
    """(N, H, W, 3) float64 on the [0, 255] scale."""
    array = images.detach().cpu().numpy() if hasattr(images, "detach") else np.asarray(images)
    if array.dtype == np.uint8:
        return array.astype(np.float64)
    if array.ndim == 4 and array.shape[1] == 3 and array.shape[-1] != 3:
        array = array.transpose(0, 2, 3, 1)
    return np.clip(array.astype(np.float64), 0, 1) * 255.0


def ssim(generated, target) -> float:
    """Mean SSIM over frames (Gaussian window σ = 1.5, data range 255)."""
    from skimage.metrics import structural_similarity

    fake, real = _to_uint8_scale(generated), _to_uint8_scale(target)
    return float(
        np.mean(
            [
                structural_similarity(
                    f,
                    r,
                    channel_axis=-1,
                    data_range=255.0,
                    gaussian_weights=True,
                    sigma=1.5,
                    use_sample_covariance=False,
                )
                for f, r in zip(fake, real, strict=False)
            ]
        )
    )


def finite_mean(values) -> float:
    """Mean of the finite values; ``inf`` when there are none but some are ``+inf`` (PSNR of identical frames
    only), else NaN. A metric that is infinite for a perfect frame (PSNR) would make any mean over it infinite."""
    values = np.asarray(values, np.float64).ravel()
    finite = values[np.isfinite(values)]
    if finite.size:
        return float(finite.mean())
    return float("inf") if np.any(values == np.inf) else float("nan")


def psnr_per_frame(generated, target) -> np.ndarray:
    """PSNR in dB of each frame (peak 255); ``inf`` for identical frames (zero error)."""
    from skimage.metrics import peak_signal_noise_ratio

    fake, real = _to_uint8_scale(generated), _to_uint8_scale(target)
    return np.array(
        [
            np.inf if np.array_equal(f, r) else peak_signal_noise_ratio(r, f, data_range=255.0)
            for f, r in zip(fake, real, strict=False)
        ],
        np.float64,
    )


def psnr(generated, target) -> float:
    """Mean PSNR in dB over the frames that differ (peak 255). Identical frames have an infinite PSNR and are left
    out of the mean; ``inf`` when every frame is identical."""
    return finite_mean(psnr_per_frame(generated, target))


def inter_frame_consistency(generated, target) -> float:
    """IFC = mean_t |δ_t(G) - δ_t(GT)|, δ_t the mean absolute pixel difference of frames t and t-1 on [0, 255]."""
    fake, real = _to_uint8_scale(generated), _to_uint8_scale(target)
    if len(fake) < 2:
        raise ValueError("IFC needs at least two frames")
    delta_fake = np.abs(np.diff(fake, axis=0)).mean(axis=(1, 2, 3))
    delta_real = np.abs(np.diff(real, axis=0)).mean(axis=(1, 2, 3))
    return float(np.abs(delta_fake - delta_real).mean())


def _rgb_uint8(images) -> np.ndarray:
    return np.clip(np.rint(_to_uint8_scale(images)), 0, 255).astype(np.uint8)


def crop_landmarks(images, predictor=None) -> np.ndarray:
    """(N, 68, 2) dlib landmarks of tight face crops, in the crops' pixels (the whole image is the face box)."""

    predictor = predictor or default_landmark_predictor()
    crops = _rgb_uint8(images)
    box = np.array([0, 0, crops.shape[2], crops.shape[1]], np.float32)
    return np.stack([predictor(crop, box) for crop in crops])


def mouth_landmark_distance(generated, target, predictor=None) -> float:
    """LMD: mean pixel distance between dlib mouth landmarks (48-67) of generated and target crops."""
    fake, real = crop_landmarks(generated, predictor), crop_landmarks(target, predictor)
    return float(np.linalg.norm(fake[:, 48:] - real[:, 48:], axis=-1).mean())


def mouth_openings(images, predictor=None) -> np.ndarray:
    """(N,) inner-lip opening over mouth width (processing.landmarks.mouth_opening) of dlib landmarks on crops."""

    return mouth_opening(crop_landmarks(images, predictor))


def face_embeddings(images, embedder=None) -> np.ndarray:
    """(N, 128) dlib face embeddings of tight face crops (about 0.1 s a crop on one core)."""

    embedder = embedder or default_face_embedder()  # load dlib's net once, not per call (about 1 s a load)
    crops = _rgb_uint8(images)
    box = np.array([0, 0, crops.shape[2], crops.shape[1]], np.float32)
    return np.stack([embedder(crop, box) for crop in crops])


def identity_similarity(generated, reference, embedder=None) -> float:
    """Mean cosine between dlib face embeddings of generated crops and reference crops, frame by frame.

    ``reference`` may be crops or their :func:`face_embeddings` (to embed a shared reference once)."""
    reference = np.asarray(reference)
    real = reference if reference.ndim == 2 else face_embeddings(reference, embedder)
    fake = face_embeddings(generated, embedder)
    norms = np.maximum(np.linalg.norm(fake, axis=1) * np.linalg.norm(real, axis=1), 1e-8)
    return float(np.mean((fake * real).sum(axis=1) / norms))
