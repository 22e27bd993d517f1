"""``python -m aiclone_agent [serve|fetch-model]``: what ./run.sh calls."""

from __future__ import annotations

import argparse
import logging
import sys

from aiclone_agent.bundle.default_model import FetchError, ensure_default_model
from aiclone_agent.bundle.model_files import ModelMissingError, find_base_model
from aiclone_agent.core.config import ConfigError, ConfigStore, EnvSettings
from aiclone_agent.engine.base import EngineError


def fail(message: str) -> int:
    print(f"aiclone: {message}", file=sys.stderr)
    return 2


def fetch_model(env: EnvSettings, config: ConfigStore) -> int:
    base_dir = env.models_dir / "base"
    try:
        path = find_base_model(config.current.model.base_model_path, base_dir)
        print(f"model: {path}")
        return 0
    except ModelMissingError:
        if config.current.model.base_model_path:
            raise
    path = ensure_default_model(base_dir)
    print(f"model: {path}")
    return 0


def serve(env: EnvSettings, config: ConfigStore) -> int:
    import uvicorn

    from aiclone_agent.app import create_app
    from aiclone_agent.engine.selector import load_engine

    engine = load_engine(config.current.model, env.models_dir)
    panel = config.current.admin_panel
    host, port = env.host or panel.host, env.port or panel.port
    print(f"AI Clone agent: {engine.info.backend} running {engine.info.model_name}; open http://{host}:{port}", flush=True)
    if engine.info.gpu is not None:
        print(f"GPU: {engine.info.gpu.layers_offloaded}/{engine.info.gpu.layers_total} layers ({engine.info.gpu.reason})", flush=True)
    uvicorn.run(create_app(env, config, engine), host=host, port=port, log_level=env.log_level, access_log=False)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="aiclone_agent")
    parser.add_argument("command", nargs="?", default="serve", choices=["serve", "fetch-model"])
    args = parser.parse_args(argv)
    try:
        env = EnvSettings()
        logging.basicConfig(level=env.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        config = ConfigStore(env.config)
        if args.command == "fetch-model":
            return fetch_model(env, config)
        return serve(env, config)
    except (ConfigError, ModelMissingError, FetchError, EngineError) as exc:
        return fail(str(exc))
    except ValueError as exc:  # bad AICLONE_* values
        return fail(f"environment: {exc}")


if __name__ == "__main__":
    sys.exit(main())
