"""Every error ``code`` either program answers with, and the parameters each one carries.

A person never reads a server's English ``message`` (nor a library's exception text, which goes to
the log): the web UIs render the ``code`` with its ``params`` in the page's language from their
catalogue (``frontend/src/shared/i18n``). So the codes are a contract, like the frames of the wire:
stable, listed once here, and ``tests/security/test_error_catalogue.py`` fails when a program
answers a code this table lacks, or when the UIs lack an English or a Russian sentence for one.

``ERROR_CODES``: the code of a whole answer (``error.code``, an SSE error event, a relay ``error``
frame, a chat ``error`` frame, a status's ``last_error_code``) -> the names of its ``params``.
``FIELD_CODES``: what is wrong with one field of a request that failed validation
(``error.field_codes[field]``) -> its params, translated from pydantic's error types by
``field_error``, so "Input should be less than or equal to 2" reaches the UI as ``too_large``,
``{max: 2}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ERROR_CODES: dict[str, tuple[str, ...]] = {
    # requests either program refuses as a whole
    "invalid_request": (),  # failed validation: each field's problem is in field_codes
    "request_too_large": (),
    "not_found": (),
    "read_only": (),
    "internal_error": (),
    "invalid_frame": (),
    "protocol_version": (),
    "unauthorized": (),
    "rate_limited": (),
    "too_many_requests": (),
    # the gateway's accounts and sign-in
    "not_authenticated": (),
    "invalid_credentials": (),
    "invalid_token": (),
    "token_revoked": (),
    "token_reused": (),
    "invalid_api_key": (),
    "account_blocked": (),
    "owner_only": (),
    "own_account": (),
    "email_taken": (),
    "wrong_password": (),
    "registration_closed": (),
    "invite_required": (),
    "invite_invalid": (),
    "setup_code_required": (),
    "password_too_short": ("min",),
    "password_too_common": (),
    "too_many_api_keys": ("limit",),
    "too_many_lan_tokens": ("limit",),
    "invalid_lan_token": (),
    "forbidden": (),
    "bad_update": (),
    # the clone behind the gateway
    "clone_offline": (),
    "agent_offline": (),
    "agent_disconnected": (),
    "agent_timeout": (),
    "relay_gap": (),
    # the agent: chat, engine, persona, documents, memory
    "conversation_not_found": (),
    "conversation_not_saved": (),
    "invalid_title": (),
    "message_too_long": ("length", "limit"),
    "no_user_message": (),
    "context_length_exceeded": (),
    "invalid_max_tokens": ("max_tokens", "n_ctx"),
    "model_not_found": ("model",),
    "engine_error": (),
    "engine_busy": (),
    "engine_not_reloadable": (),
    "engine_reload_failed": (),
    "invalid_setting": ("field",),
    "invalid_config": (),
    "adapter_unavailable": (),
    "system_prompt_too_long": ("used", "most"),
    "document_not_found": (),
    "empty_file": (),
    "file_too_large": ("max_mb",),
    "unsupported_document": (),
    "unsafe_document": (),
    "memory_not_found": (),
    "memory_unavailable": (),
    # the agent's link to its gateway (the admin's Gateway page: last_error_code)
    "gateway_unreachable": (),
    "gateway_token_refused": (),
    "gateway_refused": (),
    "gateway_closed": (),
    "gateway_link_lost": (),
    # the LAN page's one-time pairing codes
    "invalid_pairing_code": (),
    "pairing_rate_limited": (),
    # Telegram: a refused token (PUT /api/telegram) and a running bot's last error (its status)
    "telegram_config": (),
    "unknown_bot": (),
    "telegram_token_malformed": (),
    "telegram_token_rejected": (),
    "telegram_unreachable": ("api_url",),
    "telegram_refused": (),
    "telegram_conflict": (),
    "telegram_failed": (),
    "telegram_not_taken": (),
    # a listener's Apply (the LAN listener, the direct path: their ``error_code``, ``error_params``)
    "listener_address_in_use": ("host", "port"),
    "listener_permission_denied": ("host", "port"),
    "listener_address_not_available": ("host", "port"),
    "listener_failed": ("host", "port"),
    # the direct path once it listens (``/api/status`` ``gateway.direct_error_code``)
    "direct_not_linked": (),
    "direct_busy": (),
    "direct_proof_refused": (),
    "direct_path_lost": (),
    # an engine reload that failed (``/api/status`` ``engine_reload.error_code``, ``error_params``)
    "model_load_failed": ("file",),
    "model_context_failed": ("file", "n_ctx"),
    "model_file_missing": (),
    "not_enough_memory": (),
    # a document that failed to index (``/api/rag/documents`` ``error_code``)
    "document_unreadable": (),
    "document_interrupted": (),
    "document_failed": (),
    # a file in models/base/ the Engine page lists but cannot use (``/api/engine/models`` ``error_code``)
    "model_file_unreadable": (),
    "model_not_gguf": (),
    "model_without_weights": (),
    "model_is_adapter": (),
    # the adapter (``/api/adapter``, ``/api/status`` ``adapter.reason_code``)
    "adapter_timeout": (),
    "adapter_failed": (),
    "adapter_invalid": (),  # a damaged or incomplete adapter file (``AdapterError``'s default)
    "adapter_unsupported": (),  # something llama.cpp cannot apply (DoRA, embeddings, biases, ...)
    "adapter_wrong_base": (),  # trained for another base model (layers, shapes, architecture)
    "adapter_not_found": (),  # model.lora_path names a file or folder that does not exist
    "adapter_ambiguous": (),  # a folder with several .gguf files and no model.lora_path to choose
    "adapter_not_recognised": (),  # a folder with neither a PEFT adapter nor a .gguf LoRA
    "adapter_none": (),  # no adapter at all: the base model answers as it is (not a failure)
    # why knowledge search is lexical only (``/api/status`` ``rag.note_code``)
    "search_lexical_only": (),
    # why the Status page's engine runs as it does (``/api/status`` ``backend_reason_code``,
    # ``gpu.reason_code``, ``model.chosen_because_code``, each with its ``*_params``)
    "backend_configured": ("backend",),
    "backend_auto_tensorrt": (),
    "backend_tensorrt_missing": (),
    "backend_no_gpu": (),
    "backend_no_hf_model": (),
    "backend_hf_not_a_folder": ("path",),
    "backend_adapter_gguf": ("file",),
    "backend_tensorrt_failed": (),
    "gpu_layers_configured": ("setting",),
    "gpu_not_found": (),
    "gpu_query_failed": (),
    "gpu_no_cuda": (),
    "gpu_all_fit": ("total", "needed_mib", "free_mib", "kv_tokens"),
    "gpu_none_fit": ("total", "needed_mib", "free_mib", "kv_tokens"),
    "gpu_some_fit": ("fit", "total", "needed_mib", "free_mib", "kv_tokens"),
    "gpu_header_unreadable": ("file", "setting"),
    "model_configured": (),
    "model_last_chosen": ("file",),
    "model_newest": ("file",),
    "model_newest_last_gone": ("file", "last"),
}

FIELD_CODES: dict[str, tuple[str, ...]] = {
    "required": (),
    "too_large": ("max",),
    "too_small": ("min",),
    "must_be_below": ("limit",),
    "must_be_above": ("limit",),
    "too_long": ("max",),
    "too_short": ("min",),
    "too_many": ("max",),
    "too_few": ("min",),
    "not_a_number": (),
    "not_an_integer": (),
    "not_a_boolean": (),
    "not_text": (),
    "not_one_of": ("expected",),
    "wrong_format": (),
    "not_a_url": (),
    "unknown_field": (),
    "refused": (),  # a value that passes its range check but cannot be used (its message says why)
    "below_running_context": ("limit",),  # max_tokens vs the context the engine runs with until a restart
    "not_a_model": ("path",),
    "path_unresolved": ("path",),
    "invalid_value": (),
    "not_a_pairing_string": (),  # the agent's Gateway page: not the whole aiclone://pair? line
}

# pydantic's error type -> (our field code, {our param: pydantic's context key})
_PYDANTIC: dict[str, tuple[str, dict[str, str]]] = {
    "missing": ("required", {}),
    "less_than_equal": ("too_large", {"max": "le"}),
    "greater_than_equal": ("too_small", {"min": "ge"}),
    "less_than": ("must_be_below", {"limit": "lt"}),
    "greater_than": ("must_be_above", {"limit": "gt"}),
    "string_too_long": ("too_long", {"max": "max_length"}),
    "string_too_short": ("too_short", {"min": "min_length"}),
    "too_long": ("too_many", {"max": "max_length"}),
    "too_short": ("too_few", {"min": "min_length"}),
    "int_parsing": ("not_an_integer", {}),
    "int_type": ("not_an_integer", {}),
    "int_from_float": ("not_an_integer", {}),
    "float_parsing": ("not_a_number", {}),
    "float_type": ("not_a_number", {}),
    "finite_number": ("not_a_number", {}),
    "bool_parsing": ("not_a_boolean", {}),
    "bool_type": ("not_a_boolean", {}),
    "string_type": ("not_text", {}),
    "literal_error": ("not_one_of", {"expected": "expected"}),
    "enum": ("not_one_of", {"expected": "expected"}),
    "string_pattern_mismatch": ("wrong_format", {}),
    "url_parsing": ("not_a_url", {}),
    "url_scheme": ("not_a_url", {}),
    "url_type": ("not_a_url", {}),
    "extra_forbidden": ("unknown_field", {}),
}


def _plain(value: Any) -> Any:
    """A context value as JSON can carry it (pydantic's may be a Decimal or an exception)."""
    return value if isinstance(value, (int, float, str, bool)) or value is None else str(value)


def field_error(item: Mapping[str, Any]) -> dict[str, Any]:
    """One pydantic error as ``{"code", "params"}``; an unknown type is ``invalid_value``."""
    kind = str(item.get("type", ""))
    context = item.get("ctx") or {}
    if kind in FIELD_CODES:  # a validator of ours raised PydanticCustomError with our own code
        return {
            "code": kind,
            "params": {name: _plain(context[name]) for name in FIELD_CODES[kind] if name in context},
        }
    code, names = _PYDANTIC.get(kind, ("invalid_value", {}))
    params = {ours: _plain(context[theirs]) for ours, theirs in names.items() if theirs in context}
    return {"code": code, "params": params}
