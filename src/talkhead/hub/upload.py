"""Uploading a folder (a trained model, a dataset) to the Hugging Face Hub, with failures told apart.

A failed upload has different fixes depending on why it failed, so the error says which it was:

- ``auth``: no token (``LocalTokenNotFoundError``) or the Hub refused it (HTTP 401/403): log in with
  ``hf auth login`` or set ``HF_TOKEN``, with write access to the namespace;
- ``network``: the Hub could not be reached (offline mode, DNS, connection, timeout): retry where
  there is a network, or upload the folder later;
- ``hub``: any other answer of the Hub (a bad repo id, a server error), with its status and message.

Uploads go through ``HfApi.create_repo`` + ``HfApi.upload_folder``, so what is uploaded is exactly the
folder's files (for a model: the card talkhead wrote, not one generated on the way).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import TalkheadInputError


class HubUploadError(TalkheadInputError):
    """An upload that failed; ``kind`` is ``auth``, ``network`` or ``hub`` (see the module docstring)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def _network_errors() -> tuple[type[BaseException], ...]:
    """Exception classes that mean "no connection": builtins, huggingface_hub's offline mode and the HTTP clients'."""
    classes: list[type[BaseException]] = [ConnectionError, TimeoutError]
    for module in ("httpx2", "httpx"):  # huggingface_hub 1.x uses httpx, 2.x its fork httpx2
        try:
            classes.append(__import__(module).TransportError)
        except (ImportError, AttributeError):
            pass
    try:
        import requests

        classes += [requests.ConnectionError, requests.Timeout]
    except ImportError:
        pass
    return tuple(classes)


def classify_hub_error(err: BaseException) -> str:
    """``auth``, ``network`` or ``hub`` for an exception raised by a ``huggingface_hub`` call."""
    from huggingface_hub.errors import HfHubHTTPError, LocalTokenNotFoundError

    if isinstance(err, LocalTokenNotFoundError):
        return "auth"
    if isinstance(err, HfHubHTTPError):
        status = getattr(err.response, "status_code", None)
        return "auth" if status in (401, 403) else "hub"
    if isinstance(err, _network_errors()):
        return "network"
    return "hub"


_ADVICE = {
    "auth": "log in with `hf auth login` (or set HF_TOKEN) using a token with write access to that namespace",
    "network": "the Hugging Face Hub could not be reached; retry where there is a network "
    "(HF_HUB_OFFLINE must be unset)",
    "hub": "the Hub refused the upload; check the repository id and the message above",
}


def describe_hub_error(err: BaseException, repo_id: str) -> HubUploadError:
    """The :class:`HubUploadError` for ``err``, naming the repository and what to do."""
    kind = classify_hub_error(err)
    label = {"auth": "authentication failed", "network": "network error", "hub": "the Hub answered with an error"}[kind]
    return HubUploadError(kind, f"upload to '{repo_id}': {label} ({type(err).__name__}: {err}); {_ADVICE[kind]}")


def upload_folder(
    folder: str | os.PathLike,
    repo_id: str,
    *,
    repo_type: str = "model",
    allow_patterns=None,
    commit_message: str = "Upload with talkhead",
    private: bool | None = None,
    token: str | None = None,
) -> str:
    """Create ``repo_id`` if needed and upload ``folder`` (only ``allow_patterns`` when given); returns the commit URL.

    Raises :class:`HubUploadError` (``kind`` auth, network or hub) when the Hub cannot take it.
    """
    from huggingface_hub import HfApi

    folder = Path(folder)
    if not folder.is_dir():
        raise TalkheadInputError(f"cannot upload '{folder}': it is not a folder")
    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True)
        commit = api.upload_folder(
            repo_id=repo_id,
            repo_type=repo_type,
            folder_path=str(folder),
            allow_patterns=allow_patterns,
            commit_message=commit_message,
        )
    except Exception as err:  # classified: auth, network or any other Hub answer
        raise describe_hub_error(err, repo_id) from err
    return str(getattr(commit, "commit_url", commit))
