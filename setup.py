"""The package is declared in setup.cfg. This adds the one thing a setup.cfg cannot say: the packages found under
src/ (as ``find:`` would find them) together with the shipped model folders, which live outside src/ and install
as ``talkhead/hub_configs/<name>/`` (setup.cfg's ``package_dir`` maps them)."""

from setuptools import find_packages, setup

SHIPPED_MODELS = "talkhead.hub_configs"

setup(packages=[*find_packages("src"), SHIPPED_MODELS])
