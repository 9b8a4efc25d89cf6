"""Frozen feature networks the package reads but never trains, each loading weights the user supplies (none can be
downloaded here):

* :mod:`talkhead.backbones.vgg`: VGG-19 ``features`` up to relu5_1, for the perceptual loss
  (:func:`talkhead.losses.perceptual_loss`; Yaman et al., stabilized sync, eq. 1).
* :mod:`talkhead.backbones.inception`: the FID InceptionV3 (pytorch-fid's variant), for the landmark raster
  Fréchet distance (:func:`talkhead.metrics.landmarks.inception_frechet`; Airale et al., MS-Sync, §4.2).

The modules are imported on use: ``import talkhead.backbones`` loads neither.
"""
