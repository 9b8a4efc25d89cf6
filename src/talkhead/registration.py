"""Registration with transformers on ``import talkhead``, paid for only when transformers is used.

After ``import talkhead``, ``AutoConfig`` / ``AutoModel.from_pretrained`` must know talkhead's model types and
``transformers.pipeline`` its two tasks ("talking-head", "lip-sync"), as after importing any transformers
model package. Doing that eagerly imports torch, transformers, every model and the pipelines' video stack:
``import talkhead`` would go from under a millisecond to about 6 s on this machine, paid by every ``talkhead``
command (``--help`` included) and by users of the light modules (audio, video, metrics on arrays).

So ``import talkhead`` installs an import hook instead (:class:`_Finder`): right after transformers'
``configuration_auto`` or ``modeling_auto`` is imported, ``talkhead.models`` is imported (its import registers
the configurations and models), and right after ``transformers.pipelines`` is, ``talkhead.pipelines`` (which
registers the tasks). Whichever is imported first, talkhead or transformers, the result is the same; when
transformers is already imported, registration happens at once. It waits until no transformers module is
half-initialised (their imports nest: ``modeling_auto`` imports ``configuration_auto``), because talkhead's
model modules import ``PreTrainedModel`` and would fail on a module still being executed.

Why not ``auto_map`` in every config.json: with ``trust_remote_code`` transformers would download and execute
modeling code stored in each model repository, a second copy of the package's code that can drift from it.
talkhead is a package, so the choice here is cards that say ``pip install talkhead`` (the card writer,
:mod:`talkhead.hub.model_card`, does) and classes that come from the installed, versioned package.
"""

import sys
import warnings
from _thread import _local  # threading.local without importing threading (5 ms)

# transformers module (once fully imported) -> the talkhead package whose import registers with it
TRIGGERS = {
    "transformers.models.auto.configuration_auto": "talkhead.models",
    "transformers.models.auto.modeling_auto": "talkhead.models",
    "transformers.pipelines": "talkhead.pipelines",
}

_state = _local()  # depth: transformers modules being executed; busy: registering now


def register_pending() -> None:
    """Import the talkhead packages whose transformers trigger is imported and which are not imported yet.

    A package already in ``sys.modules`` registered itself on import, or is being imported and will when its
    ``__init__`` ends; nothing is done while a transformers module is half-initialised or during registration.
    """
    if getattr(_state, "depth", 0) or getattr(_state, "busy", False):
        return
    _state.busy = True
    try:
        for trigger, package in TRIGGERS.items():
            if trigger in sys.modules and package not in sys.modules:
                try:
                    __import__(package)  # not importlib.import_module: importlib is 1 ms more
                except Exception as err:  # noqa: BLE001  a transformers import must not fail because of talkhead
                    warnings.warn(
                        f"talkhead could not register {package} with transformers ({type(err).__name__}: "
                        f"{err}); import {package} yourself to see the full error",
                        stacklevel=2,
                    )
    finally:
        _state.busy = False


class _Loader:
    """A transformers module's own loader, counting the transformers modules in execution.

    Plain classes, not ``importlib.abc`` subclasses: the import system only calls these methods, and
    ``importlib.abc`` imports ``importlib.resources``, ``tempfile`` and ``typing`` (14 ms of a 17 ms import)."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        _state.depth = getattr(_state, "depth", 0) + 1
        try:
            self._loader.exec_module(module)
        finally:
            _state.depth -= 1
        register_pending()

    def __getattr__(self, name):  # get_source, get_resource_reader, is_package, ...: the real loader's
        return getattr(self._loader, name)


class _Finder:
    """Finds ``transformers`` modules with the finders after it, and wraps their loaders in :class:`_Loader`."""

    def find_spec(self, fullname, path, target=None):
        if fullname != "transformers" and not fullname.startswith("transformers."):
            return None
        for finder in sys.meta_path:
            if isinstance(finder, _Finder) or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _Loader(spec.loader)
                return spec
        return None


def install() -> None:
    """Install the import hook once, and register with whatever part of transformers is already imported."""
    if not any(type(finder).__name__ == _Finder.__name__ for finder in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
    register_pending()
