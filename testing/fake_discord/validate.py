"""Payload validation the way Discord does it: 400 code 50035 with an ``errors`` tree naming the field.

Every ``validate_*`` function raises :class:`FakeHTTPError` (50035, or 50006 for an empty message) or returns a
normalised copy of what it validated.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

from .errors import FakeHTTPError, empty_message, field_error, invalid_form_body

# message flags
FLAG_SUPPRESS_EMBEDS = 1 << 2
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
FLAG_SUPPRESS_NOTIFICATIONS = 1 << 12
FLAG_COMPONENTS_V2 = 1 << 15
USER_SETTABLE_FLAGS = FLAG_SUPPRESS_EMBEDS | FLAG_SUPPRESS_NOTIFICATIONS | FLAG_COMPONENTS_V2
INTERACTION_SETTABLE_FLAGS = USER_SETTABLE_FLAGS | FLAG_EPHEMERAL

COMMAND_NAME_RE = re.compile(r"^[-_\w]{1,32}$")
MAX_EMBED_TOTAL = 6000


def _max_len(limit: int) -> dict[str, Any]:
    return field_error("BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


def _bad_len(lo: int, hi: int) -> dict[str, Any]:
    return field_error("BASE_TYPE_BAD_LENGTH", f"Must be between {lo} and {hi} in length.")


def _required() -> dict[str, Any]:
    return field_error("BASE_TYPE_REQUIRED", "This field is required")


def _bad_type(kind: str) -> dict[str, Any]:
    return field_error(f"BASE_TYPE_{kind.upper()}", f"Value must be a valid {kind}.")


def _merge(errors: dict[str, Any], key: str, value: dict[str, Any]) -> None:
    if key in errors and isinstance(errors[key], dict):
        for k, v in value.items():
            if k == "_errors" and "_errors" in errors[key]:
                errors[key]["_errors"].extend(v)
            else:
                errors[key][k] = v
    else:
        errors[key] = value


def _check_str(
    errors: dict[str, Any], obj: dict[str, Any], key: str, hi: int, *, lo: int = 0, required: bool = False
) -> int:
    """Validate a string field; return its length (0 when absent)."""
    if key not in obj or obj[key] is None:
        if required:
            errors[key] = _required()
        return 0
    value = obj[key]
    if not isinstance(value, str):
        errors[key] = _bad_type("string")
        return 0
    if lo and not (lo <= len(value) <= hi):
        errors[key] = _bad_len(lo, hi)
    elif len(value) > hi:
        errors[key] = _max_len(hi)
    return len(value)


def valid_url(value: Any, *, allow_attachment: bool = False) -> bool:
    if not isinstance(value, str) or len(value) > 2048:
        return False
    if allow_attachment and value.startswith("attachment://") and len(value) > len("attachment://"):
        return True
    parsed = urlparse(value)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def _check_url(
    errors: dict[str, Any], obj: dict[str, Any], key: str, *, required: bool = False, attachment: bool = False
) -> None:
    if key not in obj or obj[key] is None:
        if required:
            errors[key] = _required()
        return
    if not valid_url(obj[key], allow_attachment=attachment):
        errors[key] = field_error("URL_TYPE_INVALID_URL", "Not a well formed URL.")


def embed_has_content(embed: dict[str, Any]) -> bool:
    keys = ("title", "description", "fields", "author", "footer", "image", "thumbnail", "video")
    return any(embed.get(k) for k in keys)


def validate_embeds(embeds: Any, errors: dict[str, Any]) -> None:
    if not isinstance(embeds, list):
        errors["embeds"] = _bad_type("array")
        return
    if len(embeds) > 10:
        _merge(errors, "embeds", _max_len(10))
        return
    total = 0
    for index, embed in enumerate(embeds):
        e: dict[str, Any] = {}
        if not isinstance(embed, dict):
            _merge(errors, "embeds", {str(index): _bad_type("object")})
            continue
        total += _check_str(e, embed, "title", 256)
        total += _check_str(e, embed, "description", 4096)
        _check_url(e, embed, "url")
        color = embed.get("color")
        if color is not None and (not isinstance(color, int) or isinstance(color, bool) or not 0 <= color <= 0xFFFFFF):
            e["color"] = field_error("NUMBER_TYPE_MAX", "int value should be less than or equal to 16777215.")
        timestamp = embed.get("timestamp")
        if timestamp is not None and not (isinstance(timestamp, str) and re.match(r"^\d{4}-\d{2}-\d{2}T", timestamp)):
            e["timestamp"] = field_error("DATE_TYPE_PARSE", "Could not parse timestamp. Should be ISO8601.")
        fields = embed.get("fields")
        if fields is not None:
            if not isinstance(fields, list):
                e["fields"] = _bad_type("array")
            elif len(fields) > 25:
                e["fields"] = _max_len(25)
            else:
                fe: dict[str, Any] = {}
                for fi, f in enumerate(fields):
                    one: dict[str, Any] = {}
                    if not isinstance(f, dict):
                        fe[str(fi)] = _bad_type("object")
                        continue
                    total += _check_str(one, f, "name", 256, lo=1, required=True)
                    total += _check_str(one, f, "value", 1024, lo=1, required=True)
                    if one:
                        fe[str(fi)] = one
                if fe:
                    e["fields"] = fe
        footer = embed.get("footer")
        if footer is not None:
            fo: dict[str, Any] = {}
            if not isinstance(footer, dict):
                fo = _bad_type("object")
            else:
                total += _check_str(fo, footer, "text", 2048, required=True)
                _check_url(fo, footer, "icon_url", attachment=True)
            if fo:
                e["footer"] = fo
        author = embed.get("author")
        if author is not None:
            au: dict[str, Any] = {}
            if not isinstance(author, dict):
                au = _bad_type("object")
            else:
                total += _check_str(au, author, "name", 256, required=True)
                _check_url(au, author, "url")
                _check_url(au, author, "icon_url", attachment=True)
            if au:
                e["author"] = au
        for key in ("image", "thumbnail"):
            media = embed.get(key)
            if media is not None:
                me: dict[str, Any] = {}
                if not isinstance(media, dict):
                    me = _bad_type("object")
                else:
                    _check_url(me, media, "url", required=True, attachment=True)
                if me:
                    e[key] = me
        if e:
            _merge(errors, "embeds", {str(index): e})
    if total > MAX_EMBED_TOTAL:
        _merge(
            errors,
            "embeds",
            field_error("MAX_EMBED_SIZE_EXCEEDED", f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL}"),
        )


BUTTON = 2
SELECTS = {3, 5, 6, 7, 8}


def _collect_custom_ids(components: Any, out: list[str]) -> None:
    if isinstance(components, list):
        for c in components:
            _collect_custom_ids(c, out)
    elif isinstance(components, dict):
        if isinstance(components.get("custom_id"), str):
            out.append(components["custom_id"])
        for key in ("components", "accessory"):
            if key in components:
                _collect_custom_ids(components[key], out)


def _validate_v2_tree(components: Any, path: dict[str, Any]) -> int:
    """Light validation for components v2: custom_id/label lengths, at most 40 components in total."""
    count = 0
    if not isinstance(components, list):
        return 0
    for index, comp in enumerate(components):
        if not isinstance(comp, dict) or not isinstance(comp.get("type"), int):
            path[str(index)] = _bad_type("object")
            continue
        count += 1
        ce: dict[str, Any] = {}
        _check_str(ce, comp, "custom_id", 100, lo=1)
        _check_str(ce, comp, "label", 80)
        if "components" in comp:
            sub: dict[str, Any] = {}
            count += _validate_v2_tree(comp["components"], sub)
            if sub:
                ce["components"] = sub
        if isinstance(comp.get("accessory"), dict):
            sub = {}
            count += _validate_v2_tree([comp["accessory"]], sub)
            if sub:
                ce["accessory"] = sub.get("0", sub)
        if ce:
            path[str(index)] = ce
    return count


def _validate_button(comp: dict[str, Any]) -> dict[str, Any]:
    ce: dict[str, Any] = {}
    style = comp.get("style")
    if not isinstance(style, int) or not 1 <= style <= 6:
        ce["style"] = field_error("BASE_TYPE_CHOICES", f"Value must be one of (1, 2, 3, 4, 5, 6). Got {style!r}")
        return ce
    _check_str(ce, comp, "label", 80)
    if style == 5:
        if comp.get("custom_id") is not None:
            ce["custom_id"] = field_error("COMPONENT_INVALID_CUSTOM_ID", "A link button cannot have a custom_id")
        _check_url(ce, comp, "url", required=True)
    elif style == 6:
        if not comp.get("sku_id"):
            ce["sku_id"] = _required()
    else:
        _check_str(ce, comp, "custom_id", 100, lo=1, required=True)
        if comp.get("url") is not None:
            ce["url"] = field_error("COMPONENT_INVALID_URL", "Only link buttons can have a url")
    if style != 6 and not comp.get("label") and not comp.get("emoji"):
        ce.setdefault("label", field_error("BUTTON_COMPONENT_MISSING_LABEL", "A button needs a label or an emoji"))
    return ce


def _validate_select(comp: dict[str, Any]) -> dict[str, Any]:
    ce: dict[str, Any] = {}
    _check_str(ce, comp, "custom_id", 100, lo=1, required=True)
    _check_str(ce, comp, "placeholder", 150)
    lo, hi = comp.get("min_values", 1), comp.get("max_values", 1)
    if not isinstance(lo, int) or not 0 <= lo <= 25:
        ce["min_values"] = field_error("NUMBER_TYPE_MAX", "int value should be less than or equal to 25.")
    if not isinstance(hi, int) or not 1 <= hi <= 25:
        ce["max_values"] = field_error("NUMBER_TYPE_MAX", "int value should be less than or equal to 25.")
    if comp.get("type") == 3:
        options = comp.get("options")
        if not isinstance(options, list) or not 1 <= len(options) <= 25:
            ce["options"] = _bad_len(1, 25)
        else:
            oe: dict[str, Any] = {}
            for oi, opt in enumerate(options):
                one: dict[str, Any] = {}
                if not isinstance(opt, dict):
                    oe[str(oi)] = _bad_type("object")
                    continue
                _check_str(one, opt, "label", 100, lo=1, required=True)
                _check_str(one, opt, "value", 100, lo=1, required=True)
                _check_str(one, opt, "description", 100)
                if one:
                    oe[str(oi)] = one
            if oe:
                ce["options"] = oe
    return ce


def validate_components(components: Any, errors: dict[str, Any], *, v2: bool) -> None:
    if not isinstance(components, list):
        errors["components"] = _bad_type("array")
        return
    ce: dict[str, Any] = {}
    if v2:
        count = _validate_v2_tree(components, ce)
        if count > 40:
            ce.setdefault("_errors", []).append(
                {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 40 or fewer in length."}
            )
    else:
        if len(components) > 5:
            errors["components"] = _max_len(5)
            return
        for ri, row in enumerate(components):
            re_: dict[str, Any] = {}
            if not isinstance(row, dict) or row.get("type") != 1:
                ce[str(ri)] = field_error(
                    "UNION_TYPE_CHOICES", 'Value of field "type" must be one of (1,) for a top-level component.'
                )
                continue
            children = row.get("components")
            if not isinstance(children, list) or not 1 <= len(children) <= 5:
                re_["components"] = _bad_len(1, 5)
            else:
                kinds = [c.get("type") if isinstance(c, dict) else None for c in children]
                if any(k in SELECTS for k in kinds) and len(children) > 1:
                    re_["components"] = field_error(
                        "COMPONENT_LAYOUT_WIDTH_EXCEEDED", "The specified component exceeds the maximum width"
                    )
                else:
                    che: dict[str, Any] = {}
                    for ci, comp in enumerate(children):
                        if not isinstance(comp, dict):
                            che[str(ci)] = _bad_type("object")
                        elif comp.get("type") == BUTTON:
                            one = _validate_button(comp)
                            if one:
                                che[str(ci)] = one
                        elif comp.get("type") in SELECTS:
                            one = _validate_select(comp)
                            if one:
                                che[str(ci)] = one
                        else:
                            che[str(ci)] = field_error(
                                "UNION_TYPE_CHOICES", f"Component type {comp.get('type')!r} is not allowed here."
                            )
                    if che:
                        re_["components"] = che
            if re_:
                ce[str(ri)] = re_
    ids: list[str] = []
    _collect_custom_ids(components, ids)
    if len(ids) != len(set(ids)):
        ce.setdefault("_errors", []).append(
            {"code": "COMPONENT_CUSTOM_ID_DUPLICATED", "message": "Component custom id cannot be duplicated"}
        )
    if ce:
        _merge(errors, "components", ce)


def validate_allowed_mentions(value: Any, errors: dict[str, Any]) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        errors["allowed_mentions"] = _bad_type("object")
        return
    ae: dict[str, Any] = {}
    parse = value.get("parse", [])
    if not isinstance(parse, list) or any(p not in ("users", "roles", "everyone") for p in parse):
        ae["parse"] = field_error("BASE_TYPE_CHOICES", "Value must be one of ('users', 'roles', 'everyone').")
    else:
        for kind in ("users", "roles"):
            listed = value.get(kind) or []
            if kind in parse and listed:
                ae[kind] = field_error(
                    "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                    f'parse:["{kind}"] and {kind}: [ids...] are mutually exclusive.',
                )
            elif len(listed) > 100:
                ae[kind] = _max_len(100)
    if ae:
        errors["allowed_mentions"] = ae


def validate_message(
    payload: Any,
    *,
    edit: bool = False,
    has_attachments: bool = False,
    allowed_flags: int = USER_SETTABLE_FLAGS,
    existing: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Validate a message create/edit body. Returns the body; raises 50035 / 50006.

    ``existing`` is the current message state for edits, so an edit that empties the message is caught.
    """
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        raise invalid_form_body(field_error("DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType"))
    errors: dict[str, Any] = {}
    _check_str(errors, payload, "content", 2000)
    if payload.get("embeds") is not None:
        validate_embeds(payload["embeds"], errors)
    flags = payload.get("flags")
    if flags is not None and (not isinstance(flags, int) or flags & ~allowed_flags):
        errors["flags"] = field_error("MESSAGE_INVALID_FLAGS", "Invalid flags for this message")
        flags = 0
    v2 = bool((flags or 0) & FLAG_COMPONENTS_V2) or bool(existing and existing.get("flags", 0) & FLAG_COMPONENTS_V2)
    if payload.get("components") is not None:
        validate_components(payload["components"], errors, v2=v2)
    if v2 and (payload.get("content") or payload.get("embeds")):
        errors.setdefault("content", {"_errors": []}).setdefault("_errors", []).append(
            {
                "code": "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                "message": "The 'content' and 'embeds' fields cannot be used when using MessageFlags.IS_COMPONENTS_V2",
            }
        )
    validate_allowed_mentions(payload.get("allowed_mentions"), errors)
    nonce = payload.get("nonce")
    if nonce is not None:
        if isinstance(nonce, bool) or not isinstance(nonce, (str, int)):
            errors["nonce"] = _bad_type("string")
        elif isinstance(nonce, str) and len(nonce) > 25:
            errors["nonce"] = _max_len(25)
    if errors:
        raise invalid_form_body(errors)

    merged = dict(existing or {})
    for key in ("content", "embeds", "components", "attachments"):
        if key in payload:
            merged[key] = payload[key]
    non_empty = (
        bool(merged.get("content"))
        or any(embed_has_content(e) for e in merged.get("embeds") or [])
        or bool(merged.get("components"))
        or bool(merged.get("attachments"))
        or has_attachments
        or bool(payload.get("sticker_ids"))
        or bool(payload.get("poll"))
    )
    if not non_empty and not (edit and not any(k in payload for k in ("content", "embeds", "components"))):
        raise empty_message()
    return payload


def validate_thread_name(name: Any) -> str:
    errors: dict[str, Any] = {}
    _check_str(errors, {"name": name}, "name", 100, lo=1, required=True)
    if errors:
        raise invalid_form_body(errors)
    assert isinstance(name, str)  # _check_str refused anything else
    return name


def validate_autocomplete_choices(data: Any) -> list[dict[str, Any]]:
    if not isinstance(data, dict):
        raise invalid_form_body({"data": _required()})
    choices = data.get("choices")
    if not isinstance(choices, list):
        raise invalid_form_body({"data": {"choices": _required()}})
    if len(choices) > 25:
        raise invalid_form_body({"data": {"choices": _max_len(25)}})
    ce: dict[str, Any] = {}
    for index, choice in enumerate(choices):
        one: dict[str, Any] = {}
        if not isinstance(choice, dict):
            ce[str(index)] = _bad_type("object")
            continue
        _check_str(one, choice, "name", 100, lo=1, required=True)
        value = choice.get("value")
        if isinstance(value, str):
            if len(value) > 100:
                one["value"] = _max_len(100)
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            one["value"] = _required() if value is None else _bad_type("string")
        if one:
            ce[str(index)] = one
    if ce:
        raise invalid_form_body({"data": {"choices": ce}})
    return choices


def validate_modal(data: Any) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    if not isinstance(data, dict):
        raise invalid_form_body({"data": _required()})
    _check_str(errors, data, "custom_id", 100, lo=1, required=True)
    _check_str(errors, data, "title", 45, lo=1, required=True)
    comps = data.get("components")
    if not isinstance(comps, list) or not 1 <= len(comps) <= 5:
        errors["components"] = _bad_len(1, 5)
    if errors:
        raise invalid_form_body({"data": errors})
    return data


# --------------------------------------------------------------------------------------------------------------
# application commands

OPTION_TYPES = set(range(1, 12))
CHOICE_TYPES = {3, 4, 10}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _command_size(cmd: dict[str, Any]) -> int:
    size = len(cmd.get("name") or "") + len(cmd.get("description") or "")
    for opt in cmd.get("options") or []:
        if isinstance(opt, dict):
            size += _command_size(opt)
            for choice in opt.get("choices") or []:
                if isinstance(choice, dict):
                    size += len(str(choice.get("name", ""))) + len(str(choice.get("value", "")))
    return size


def _validate_option(opt: Any, depth: int, parent_kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (errors, normalised option)."""
    e: dict[str, Any] = {}
    if not isinstance(opt, dict):
        return _bad_type("object"), {}
    otype = opt.get("type")
    if otype not in OPTION_TYPES:
        e["type"] = field_error("BASE_TYPE_CHOICES", f"Value must be one of {sorted(OPTION_TYPES)}.")
        return e, {}
    name = opt.get("name")
    if not isinstance(name, str) or not COMMAND_NAME_RE.match(name) or name != name.lower():
        e["name"] = field_error("APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
    _check_str(e, opt, "description", 100, lo=1, required=True)
    norm: dict[str, Any] = {"type": otype, "name": name, "description": opt.get("description")}
    for key in ("name_localizations", "description_localizations"):
        if opt.get(key):
            norm[key] = opt[key]

    if otype in (1, 2):
        if parent_kind == "subcommand" or (otype == 2 and parent_kind == "group"):
            e["type"] = field_error(
                "APPLICATION_COMMAND_OPTION_TYPE_INVALID", "Subcommand groups and subcommands cannot be nested here"
            )
        if opt.get("required"):
            e["required"] = field_error("APPLICATION_COMMAND_OPTION_REQUIRED_INVALID", "Subcommands cannot be required")
        sub_kind = "group" if otype == 2 else "subcommand"
        sub_errors, sub_norm = _validate_options(opt.get("options") or [], depth + 1, sub_kind)
        if otype == 2 and any(o.get("type") != 1 for o in sub_norm):
            sub_errors.setdefault("_errors", []).append(
                {"code": "APPLICATION_COMMAND_OPTION_TYPE_INVALID", "message": "A group may only contain subcommands"}
            )
        if sub_errors:
            e["options"] = sub_errors
        norm["options"] = sub_norm
        return e, norm

    if parent_kind == "group":
        e["type"] = field_error("APPLICATION_COMMAND_OPTION_TYPE_INVALID", "A group may only contain subcommands")
    norm["required"] = bool(opt.get("required", False))
    choices = opt.get("choices")
    if choices:
        if otype not in CHOICE_TYPES:
            e["choices"] = field_error("APPLICATION_COMMAND_OPTION_CHOICES_INVALID", "Choices are not allowed here")
        elif not isinstance(choices, list) or len(choices) > 25:
            e["choices"] = _max_len(25)
        else:
            ce: dict[str, Any] = {}
            for ci, choice in enumerate(choices):
                one: dict[str, Any] = {}
                if not isinstance(choice, dict):
                    ce[str(ci)] = _bad_type("object")
                    continue
                _check_str(one, choice, "name", 100, lo=1, required=True)
                value = choice.get("value")
                if otype == 3:
                    if not isinstance(value, str):
                        one["value"] = _bad_type("string")
                    elif len(value) > 100:
                        one["value"] = _max_len(100)
                elif otype == 4:
                    if not isinstance(value, int) or isinstance(value, bool):
                        one["value"] = _bad_type("integer")
                elif not _is_number(value):
                    one["value"] = _bad_type("number")
                if one:
                    ce[str(ci)] = one
            if ce:
                e["choices"] = ce
        norm["choices"] = choices
        if opt.get("autocomplete"):
            e["autocomplete"] = field_error(
                "APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_CHOICES",
                "Autocomplete cannot be set on an option with choices",
            )
    if opt.get("autocomplete"):
        if otype not in CHOICE_TYPES:
            e["autocomplete"] = field_error("APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_INVALID", "Not allowed here")
        norm["autocomplete"] = True
    for key in ("min_value", "max_value"):
        if opt.get(key) is not None:
            if otype not in (4, 10) or not _is_number(opt[key]):
                e[key] = field_error("APPLICATION_COMMAND_OPTION_INVALID", f"{key} is not allowed here")
            else:
                norm[key] = opt[key]
    for key, lo in (("min_length", 0), ("max_length", 1)):
        if opt.get(key) is not None:
            value = opt[key]
            if otype != 3 or not isinstance(value, int) or not lo <= value <= 6000:
                e[key] = field_error("APPLICATION_COMMAND_OPTION_INVALID", f"{key} must be between {lo} and 6000")
            else:
                norm[key] = value
    if opt.get("channel_types") is not None:
        if otype != 7 or not isinstance(opt["channel_types"], list):
            e["channel_types"] = field_error("APPLICATION_COMMAND_OPTION_INVALID", "channel_types is not allowed here")
        else:
            norm["channel_types"] = opt["channel_types"]
    return e, norm


def _validate_options(options: Any, depth: int, parent_kind: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    errors: dict[str, Any] = {}
    if not isinstance(options, list):
        return _bad_type("array"), []
    if len(options) > 25:
        return _max_len(25), []
    normalised: list[dict[str, Any]] = []
    seen: set[str] = set()
    seen_optional = False
    kinds = set()
    for index, opt in enumerate(options):
        e, norm = _validate_option(opt, depth, parent_kind)
        if norm:
            kinds.add("sub" if norm["type"] in (1, 2) else "value")
            if norm["name"] in seen:
                e.setdefault("name", field_error("APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", "Duplicate name"))
            seen.add(norm["name"])
            if norm["type"] not in (1, 2):
                if norm.get("required"):
                    if seen_optional:
                        e.setdefault(
                            "required",
                            field_error(
                                "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                                "Required options must be placed before non-required options",
                            ),
                        )
                else:
                    seen_optional = True
            normalised.append(norm)
        if e:
            errors[str(index)] = e
    if kinds == {"sub", "value"}:
        errors.setdefault("_errors", []).append(
            {
                "code": "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                "message": "Subcommands and subcommand groups cannot be mixed with other options",
            }
        )
    return errors, normalised


def validate_command(cmd: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate one application command; returns (errors, normalised)."""
    if not isinstance(cmd, dict):
        return _bad_type("object"), {}
    e: dict[str, Any] = {}
    ctype = cmd.get("type", 1) or 1
    if ctype not in (1, 2, 3, 4):
        e["type"] = field_error("BASE_TYPE_CHOICES", "Value must be one of (1, 2, 3, 4).")
        return e, {}
    name = cmd.get("name")
    if ctype == 1:
        if not isinstance(name, str) or not COMMAND_NAME_RE.match(name) or name != name.lower():
            e["name"] = field_error("APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
        _check_str(e, cmd, "description", 100, lo=1, required=True)
    else:
        _check_str(e, cmd, "name", 32, lo=1, required=True)
        if cmd.get("description"):
            e["description"] = field_error(
                "APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION", "Context menu commands cannot have a description"
            )
    norm: dict[str, Any] = {
        "type": ctype,
        "name": name,
        "description": cmd.get("description") or "",
        "options": [],
    }
    if ctype == 1:
        opt_errors, options = _validate_options(cmd.get("options") or [], 0, "command")
        if opt_errors:
            e["options"] = opt_errors
        norm["options"] = options
    elif cmd.get("options"):
        e["options"] = field_error("APPLICATION_COMMAND_OPTIONS_INVALID", "Context menu commands cannot have options")
    perms = cmd.get("default_member_permissions")
    if perms is not None:
        if isinstance(perms, bool) or not (
            (isinstance(perms, int) and perms >= 0) or (isinstance(perms, str) and perms.isdigit())
        ):
            e["default_member_permissions"] = field_error("PERMISSIONS_INVALID", "Invalid permission value")
        else:
            perms = str(int(perms))
    norm["default_member_permissions"] = perms
    dm_permission = cmd.get("dm_permission")
    norm["dm_permission"] = True if dm_permission is None else bool(dm_permission)
    contexts = cmd.get("contexts")
    if contexts is not None and (not isinstance(contexts, list) or any(c not in (0, 1, 2) for c in contexts)):
        e["contexts"] = field_error("BASE_TYPE_CHOICES", "Value must be one of (0, 1, 2).")
    integration_types = cmd.get("integration_types")
    if integration_types is not None and (
        not isinstance(integration_types, list) or any(c not in (0, 1) for c in integration_types)
    ):
        e["integration_types"] = field_error("BASE_TYPE_CHOICES", "Value must be one of (0, 1).")
    norm["contexts"] = contexts
    norm["integration_types"] = integration_types if integration_types is not None else [0]
    norm["nsfw"] = bool(cmd.get("nsfw", False))
    for key in ("name_localizations", "description_localizations"):
        if cmd.get(key):
            norm[key] = cmd[key]
    if not e and _command_size(norm) > 8000:
        e = field_error("APPLICATION_COMMAND_TOO_LARGE", "Command exceeds maximum size (8000)")
    return e, norm


def validate_command_list(payload: Any) -> list[dict[str, Any]]:
    if not isinstance(payload, list):
        raise invalid_form_body(_bad_type("array"))
    errors: dict[str, Any] = {}
    normalised: list[dict[str, Any]] = []
    seen: set[tuple[int, str]] = set()
    counts = {1: 0, 2: 0, 3: 0, 4: 0}
    for index, cmd in enumerate(payload):
        e, norm = validate_command(cmd)
        if norm:
            key = (norm["type"], norm["name"])
            if key in seen:
                e.setdefault(
                    "name",
                    field_error("APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique"),
                )
            seen.add(key)
            counts[norm["type"]] = counts.get(norm["type"], 0) + 1
            normalised.append(norm)
        if e:
            errors[str(index)] = e
    if counts.get(1, 0) > 100 or counts.get(2, 0) > 5 or counts.get(3, 0) > 5:
        errors.setdefault("_errors", []).append(
            {"code": "APPLICATION_COMMANDS_TOO_MANY", "message": "Maximum number of application commands reached"}
        )
    if errors:
        raise invalid_form_body(errors)
    return normalised


__all__ = [
    "FLAG_COMPONENTS_V2",
    "FLAG_EPHEMERAL",
    "FLAG_LOADING",
    "FakeHTTPError",
    "validate_autocomplete_choices",
    "validate_command_list",
    "validate_message",
    "validate_modal",
    "validate_thread_name",
]
