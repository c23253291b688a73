"""`mgiqa push`: publish a trained model folder, with its model card and `mgiqa_model.json`, to the Hub.

The folder must be one a stage wrote (it carries a valid `mgiqa_model.json` and `README.md`): a model pushed
without them could not be used with its own settings. The upload is huggingface_hub's `upload_folder` (one
commit; `HF_TOKEN` / `huggingface-cli login` and `HF_ENDPOINT` are honoured); the repo is created if needed.
"""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model_dir", metavar="MODEL_DIR", help="model folder (e.g. models/grpo/mg_iqa/seed0)")
    p.add_argument("repo_id", metavar="REPO_ID", help="Hub model repo (owner/name)")
    p.add_argument("--private", action="store_true", help="create the repo private")
    p.add_argument("--revision", default=None, help="branch to push to (default: main)")
    p.add_argument("--message", default=None, help="commit message")


def push_model(model_dir, repo_id: str, *, private: bool = False, revision=None, message=None) -> str:
    """Upload `model_dir` to `repo_id`; returns the commit URL. Refuses a folder without its info or card."""
    from pathlib import Path

    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    from mgiqa.errors import DataIntegrityError, MgiqaError
    from mgiqa.model.loading import check_model_dir
    from mgiqa.model.model_card import CARD_FILE
    from mgiqa.model.model_info import INFO_FILE, read_model_info

    model_dir = check_model_dir(model_dir)
    info = read_model_info(model_dir)
    if info is None:
        raise DataIntegrityError(
            f"{Path(model_dir) / INFO_FILE}: not found: only a model folder an mgiqa stage wrote "
            "(build-model, pretrain, sft, grpo) is pushed"
        )
    if not (Path(model_dir) / CARD_FILE).is_file():
        raise DataIntegrityError(f"{Path(model_dir) / CARD_FILE}: not found (the model card)")
    stage = info.provenance.stage
    api = HfApi()
    try:
        api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
        commit = api.upload_folder(
            repo_id=repo_id,
            repo_type="model",
            folder_path=str(model_dir),
            revision=revision,
            commit_message=message or f"mgiqa {stage} model ({info.provenance.config_name} config)",
        )
    except (HfHubHTTPError, OSError) as exc:
        raise MgiqaError(f"{repo_id}: upload of {model_dir} failed: {exc}") from exc
    return str(getattr(commit, "commit_url", commit))


def run(args: argparse.Namespace) -> int:
    url = push_model(
        args.model_dir, args.repo_id, private=args.private, revision=args.revision, message=args.message
    )
    print(f"{args.model_dir} -> {args.repo_id}: {url}")
    return 0
