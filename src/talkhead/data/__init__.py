"""Datasets: building them from videos (:mod:`.build`), reading clips back (:mod:`.clips`)."""
