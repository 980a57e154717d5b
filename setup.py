"""Build script. Everything is declared in setup.cfg except what it cannot say: the package list is
found *and* extended by `registry.catalogs`, which is the checkout's top-level `catalogs/` folder
(import profiles and the demo's samples) shipped inside the wheel, where `registry.config.catalogs_dir`
finds it in an installed copy."""

from setuptools import find_packages, setup

setup(packages=find_packages(include=["registry", "registry.*", "importers", "importers.*"]) + ["registry.catalogs"],
      package_dir={"registry.catalogs": "catalogs"})
