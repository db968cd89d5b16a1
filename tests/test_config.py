from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings
from testing.process import bot_env, run_bot

ROOT = Path(__file__).resolve().parents[1]
SECRET = "MTIzNDU2Nzg5.secret-token-value.never-print-me"


def test_defaults_match_the_documented_contract() -> None:
    settings = Settings(_env_file=None)
    assert settings.discord_token is None
    assert settings.database_path == Path("data/paperbot.db")
    assert settings.hf_base_url == "https://huggingface.co"
    assert settings.arxiv_rss_base_url == "https://rss.arxiv.org/rss"
    assert settings.arxiv_categories == ["cs.AI", "cs.CL", "cs.CV", "cs.LG"]
    assert settings.poll_interval_seconds == 900
    assert settings.dev_guild_id is None
    assert settings.log_level == "INFO"


def test_environment_values_are_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARXIV_CATEGORIES", " cs.AI , cs.LG,cs.AI ")
    monkeypatch.setenv("POLL_INTERVAL_SECONDS", "1")
    monkeypatch.setenv("DEV_GUILD_ID", "123456789012345678")
    monkeypatch.setenv("HF_BASE_URL", "http://127.0.0.1:9999/")
    settings = load_settings(_env_file=None)
    assert settings.arxiv_categories == ["cs.AI", "cs.LG"]
    assert settings.poll_interval_seconds == 1
    assert settings.dev_guild_id == 123456789012345678
    assert settings.hf_base_url == "http://127.0.0.1:9999"


def test_empty_categories_disable_arxiv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARXIV_CATEGORIES", "")
    assert load_settings(_env_file=None).arxiv_categories == []


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("POLL_INTERVAL_SECONDS", "0", "greater than or equal to 1"),
        ("POLL_INTERVAL_SECONDS", "often", "valid integer"),
        ("HF_BASE_URL", "huggingface.co", "absolute http(s) URL"),
        ("ARXIV_API_BASE_URL", "export.arxiv.org/api", "absolute http(s) URL"),
        ("ARXIV_API_INTERVAL_SECONDS", "0", "greater than 0"),
        ("ARXIV_API_PAGE_SIZE", "5000", "less than or equal to 2000"),
        ("ARXIV_BACKFILL_MAX_DAYS", "-1", "greater than or equal to 0"),
        ("ARXIV_CATEGORIES", "cs.LG,not a category", "not an arXiv category"),
        ("DEV_GUILD_ID", "my-server", "valid integer"),
        ("LOG_LEVEL", "LOUD", "DEBUG"),
    ],
)
def test_bad_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    message = str(caught.value)
    assert message.startswith(f"{variable}: ")
    assert expected in message
    assert "\n" not in message


def test_env_example_lists_every_setting() -> None:
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert documented == {name.upper() for name in Settings.model_fields}


def _base_env(tmp_path: Path) -> dict[str, str]:
    return bot_env(DATABASE_PATH=str(tmp_path / "db.sqlite"))


async def test_bad_value_is_one_line_exit_2_and_never_shows_the_token(tmp_path: Path) -> None:
    env = _base_env(tmp_path) | {"POLL_INTERVAL_SECONDS": "zero", "DISCORD_TOKEN": SECRET}
    code, out, err = await run_bot(env=env, cwd=tmp_path)
    assert code == 2
    assert err.strip().count("\n") == 0
    assert "POLL_INTERVAL_SECONDS" in err
    assert "Traceback" not in err + out
    assert SECRET not in err + out


async def test_missing_token_tells_the_user_to_copy_env_example(tmp_path: Path) -> None:
    code, _, err = await run_bot(env=_base_env(tmp_path), cwd=tmp_path)
    assert code == 2
    assert "DISCORD_TOKEN" in err
    assert ".env.example" in err
    assert "Traceback" not in err


async def test_dotenv_file_is_read_from_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("POLL_INTERVAL_SECONDS=-5\n")
    code, _, err = await run_bot("search", "x", env=_base_env(tmp_path), cwd=tmp_path)
    assert code == 2
    assert "POLL_INTERVAL_SECONDS" in err


async def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    env = _base_env(tmp_path)
    Path(env["DATABASE_PATH"]).write_text("this is not sqlite, just a text file that happens to be here\n" * 20)
    code, _, err = await run_bot("search", "graph", env=env, cwd=tmp_path)
    assert code == 2
    assert "Traceback" not in err
    assert "database" in err.lower()


# Every setting with a default: a blank or whitespace-only value in .env means "use the default".
_DEFAULTED = [name.upper() for name, field in Settings.model_fields.items() if name != "arxiv_categories"]


@pytest.mark.parametrize("variable", _DEFAULTED)
@pytest.mark.parametrize("blank", ["", "   ", "\t"])
def test_a_blank_setting_means_its_default(monkeypatch: pytest.MonkeyPatch, variable: str, blank: str) -> None:
    monkeypatch.setenv(variable, blank)
    settings = load_settings(_env_file=None)
    default = Settings.model_fields[variable.lower()].get_default(call_default_factory=True)
    assert getattr(settings, variable.lower()) == default


def test_blank_url_in_an_env_file_uses_the_default(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("HF_BASE_URL=\nARXIV_RSS_BASE_URL=  \nDATABASE_PATH=\nLOG_LEVEL=\n", encoding="utf-8")
    settings = load_settings(_env_file=env_file)
    assert settings.hf_base_url == "https://huggingface.co"
    assert settings.arxiv_rss_base_url == "https://rss.arxiv.org/rss"
    assert settings.database_path == Path("data/paperbot.db")
    assert settings.log_level == "INFO"


@pytest.mark.parametrize("blank", ["", "  "])
def test_blank_categories_still_disable_arxiv(monkeypatch: pytest.MonkeyPatch, blank: str) -> None:
    monkeypatch.setenv("ARXIV_CATEGORIES", blank)
    assert load_settings(_env_file=None).arxiv_categories == []


@pytest.mark.parametrize(("value", "expected"), [("debug", "DEBUG"), (" Warning ", "WARNING"), ("info", "INFO")])
def test_log_level_is_case_insensitive(monkeypatch: pytest.MonkeyPatch, value: str, expected: str) -> None:
    monkeypatch.setenv("LOG_LEVEL", value)
    assert load_settings(_env_file=None).log_level == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("cs.ai, CS.lg", ["cs.AI", "cs.LG"]),
        ("hep-th,cond-mat.str-el", ["hep-th", "cond-mat.str-el"]),
        ("math", ["math"]),
    ],
)
def test_categories_are_real_arxiv_ones_in_any_case(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: list[str]
) -> None:
    monkeypatch.setenv("ARXIV_CATEGORIES", value)
    assert load_settings(_env_file=None).arxiv_categories == expected


@pytest.mark.parametrize("value", ["foo", "cs.XX", "cs.LG,foo.bar"])
def test_unknown_categories_are_refused_with_the_valid_forms(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("ARXIV_CATEGORIES", value)
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    message = str(caught.value)
    assert message.startswith("ARXIV_CATEGORIES: ")
    assert "cs.LG" in message and "math" in message and "\n" not in message


@pytest.mark.parametrize("variable", ["HF_BASE_URL", "ARXIV_RSS_BASE_URL", "ARXIV_API_BASE_URL"])
async def test_blank_url_builds_the_sources(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    """The reported crash: a blank URL reached the sources as None ('NoneType' has no attribute 'rstrip')."""
    from bot.poller import build_http, build_sources

    monkeypatch.setenv(variable, "")
    settings = load_settings(_env_file=None)
    async with build_http(settings) as http:
        assert len(build_sources(settings, http)) == 2
