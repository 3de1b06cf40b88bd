"""Unified search settings (`media-server:search`) and the rules that tie them to the rest of the site.

The search service (images/search, our own code) indexes the media apps the site runs. Which of them it
indexes is a projection of three things: the app is deployed, its source is not turned off here, and the
stack holds its API key (a secret, read by config/stack.py). The first two are settings and checked here
before any resource exists; a missing key is not an error but a reason the service's page shows.

Elasticsearch is deployed only for `engine: elasticsearch`; a stack that turns it on otherwise is refused,
as is one that asks for the engine and turns the service off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from config.problems import NAMESPACE, ProblemSpec, raise_problems
from config.section import Section
from config.types import PromDuration, duration_seconds

if TYPE_CHECKING:
    from config.settings import Settings

SEARCH = "search"
"""The search service's catalog name."""
ELASTICSEARCH = "elasticsearch"

LISTEN_PORT = 8080
CONFIG_DIR = "/config"
CONFIG_FILE = f"{CONFIG_DIR}/search.json"
INDEX_DIR = "/index"
INDEX_FILE = f"{INDEX_DIR}/search.db"
SECRETS_DIR = "/run/secrets/search"
BOOKS_DIR = "/books"
"""Calibre's library, read-only: the same data path Calibre-Web mounts at /books (config.tailoring)."""
ELASTIC_USER = "elastic"
ELASTIC_INDEX = "media-search"

SOURCE_APPS: dict[str, str] = {
    "jellyfin": "jellyfin",
    "navidrome": "navidrome",
    "audiobookshelf": "audiobookshelf",
    "kavita": "kavita",
    "calibre-web": "calibre-web",
    "immich": "immich-server",
}
"""Each source the service has a connector for (mediasearch.model.SOURCES, same order) -> the catalog entry
of the app it reads. tests/test_search_platform.py holds the two lists equal."""

SECRET_KEYS: dict[str, tuple[str, str]] = {
    "jellyfin": (
        "searchJellyfinApiKey",
        "Jellyfin API key the search service reads the library with (sent in the Authorization header, never "
        "in a URL; images/search/mediasearch/connectors/jellyfin.py).",
    ),
    "navidrome": (
        "searchNavidromePassword",
        "Password of the Navidrome user search.sources.navidrome.user, for the Subsonic API's token auth "
        "(a user of its own with no admin rights is enough).",
    ),
    "audiobookshelf": (
        "searchAudiobookshelfApiKey",
        "Audiobookshelf API key the search service reads the libraries with (Bearer; the libraries its user "
        "may see are indexed).",
    ),
    "kavita": (
        "searchKavitaApiKey",
        "A Kavita user's API key (the libraries that user sees are indexed; a user without admin rights is enough).",
    ),
    "immich": (
        "searchImmichApiKey",
        "Immich API key created with exactly the permissions the connector needs: album.read, asset.read, "
        "asset.view, person.read (images/search/mediasearch/connectors/immich.py).",
    ),
}
"""Source -> (secret config key, what it is). Calibre-Web needs none: its library's metadata.db is read."""

SOURCE_SECRET_KEYS: tuple[str, ...] = tuple(key for key, _ in SECRET_KEYS.values())


def key_file(source: str) -> str:
    """Where the source's key is, read-only, inside the search container."""
    return f"{SECRETS_DIR}/{source}"


ELASTIC_PASSWORD_FILE = key_file(ELASTICSEARCH)

_MIN_INCREMENTAL, _MAX_INCREMENTAL = 60, 7 * 86400
_MIN_FULL, _MAX_FULL = 300, 30 * 86400
_MIN_TIMEOUT, _MAX_TIMEOUT = 1, 3600
# The bounds above are the service's own (images/search/mediasearch/config.py, parse): what the program
# renders must load. tests/test_search_platform.py renders both ends of each range through that loader.


def _whole_seconds(low: int, high: int) -> AfterValidator:
    def check(value: str) -> str:
        seconds = duration_seconds(value)
        if seconds != int(seconds) or not low <= seconds <= high:
            raise ValueError(f"expected whole seconds from {_human(low)} to {_human(high)}, e.g. 15m or 24h")
        return value

    return AfterValidator(check)


def _human(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _source_name(name: str) -> str:
    if name not in SOURCE_APPS:
        raise ValueError("not a search source; expected one of: " + ", ".join(SOURCE_APPS))
    return name


SourceName = Annotated[str, AfterValidator(_source_name)]


class SearchSource(Section):
    """One source of the index."""

    enabled: bool | None = Field(
        default=None,
        description="Index this app. Unset: indexed whenever the app is deployed (services.<app>.enabled); "
        "true with the app off is an error; false leaves it out.",
    )
    user: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9._@-]{1,64}$",
        description="navidrome only: the user whose password is searchNavidromePassword (Subsonic API).",
    )


class SearchSchedule(Section):
    """How often the index is refreshed."""

    incremental: Annotated[PromDuration, _whole_seconds(_MIN_INCREMENTAL, _MAX_INCREMENTAL)] = Field(
        default="15m", description="Re-index what changed in each source this often (1m to 7d)."
    )
    full: Annotated[PromDuration, _whole_seconds(_MIN_FULL, _MAX_FULL)] = Field(
        default="24h",
        description="Rebuild every source this often, dropping deleted items (5m to 30d, at least incremental). "
        "`docker kill --signal HUP ms-<stack>-search` rebuilds now.",
    )

    @model_validator(mode="after")
    def _full_after_incremental(self) -> SearchSchedule:
        if duration_seconds(self.full) < duration_seconds(self.incremental):
            raise_problems(
                "schedule",
                [
                    (
                        ("full",),
                        self.full,
                        f"shorter than schedule.incremental ({self.incremental}); expected at least it",
                    )
                ],
            )
        return self


class SearchSettings(Section):
    """The unified search service at search.<domain> (images/search)."""

    enabled: bool = Field(default=True, description="Deploy the search service (media tier).")
    engine: Literal["sqlite", "elasticsearch"] = Field(
        default="sqlite",
        description="sqlite: the embedded index (SQLite FTS5 in the service's cache, no extra service); "
        "elasticsearch: the catalog's Elasticsearch, deployed only then (README: Unified search, memory).",
    )
    schedule: SearchSchedule = Field(default_factory=SearchSchedule, description="Index refresh schedule.")
    source_timeout: Annotated[PromDuration, _whole_seconds(_MIN_TIMEOUT, _MAX_TIMEOUT)] = Field(
        default="60s", description="Longest one source may take per request; a slow source never holds up others."
    )
    stale_after: PromDuration = Field(
        default="6h",
        description="Alert (SearchSourceStale) when a source has not indexed successfully for this long; "
        "longer than schedule.incremental.",
    )
    sources: dict[SourceName, SearchSource] = Field(
        default_factory=dict,
        description="Per source (jellyfin, navidrome, audiobookshelf, kavita, calibre-web, immich): enabled, "
        "and navidrome's user. API keys are secret config (searchJellyfinApiKey, ...).",
    )

    @model_validator(mode="after")
    def _own_checks(self) -> SearchSettings:
        problems: list[ProblemSpec] = []
        if duration_seconds(self.stale_after) <= duration_seconds(self.schedule.incremental):
            problems.append(
                (
                    ("staleAfter",),
                    self.stale_after,
                    f"not longer than schedule.incremental ({self.schedule.incremental}): every source would be "
                    "stale between two runs; expected a longer duration, e.g. 6h",
                )
            )
        for name, source in self.sources.items():
            if source.user is not None and name != "navidrome":
                problems.append(
                    (("sources", name, "user"), source.user, "only navidrome's source takes a user; remove it")
                )
        raise_problems("search", problems)
        return self

    def source(self, name: str) -> SearchSource:
        return self.sources.get(name, SearchSource())


@dataclass(frozen=True)
class SourcePlan:
    """What the program does with one source, before the secrets are looked at."""

    source: str
    app: str
    reason: str
    """Why it is not indexed ("" when it is, given its key)."""

    @property
    def indexed(self) -> bool:
        return not self.reason


def source_plans(settings: Settings) -> list[SourcePlan]:
    """Every source, in the service's order: indexed (pending its key) or the reason it is not."""
    plans = []
    for source, app in SOURCE_APPS.items():
        wanted = settings.search.source(source).enabled
        if wanted is False:
            reason = f"turned off (`media-server:search` sources.{source}.enabled is false)"
        elif not settings.is_enabled(app):
            reason = f"{settings.service(app).display_name} is not deployed on this site (services.{app}.enabled)"
        else:
            reason = ""
        plans.append(SourcePlan(source=source, app=app, reason=reason))
    return plans


def missing_key_reason(source: str) -> str:
    """The page's words for a source whose app runs but whose key the stack does not hold."""
    key = SECRET_KEYS[source][0]
    what = "password" if source == "navidrome" else "API key"
    return f"no {what}; set `{NAMESPACE}:{key}`"


def elasticsearch_wanted(settings: Settings) -> bool:
    """The search engine asks for Elasticsearch (the one thing on the site that uses it)."""
    search = settings.search
    override = settings.services.get(SEARCH)
    switched_off = override is not None and override.enabled is False
    return search.enabled and not switched_off and settings.tiers.media and search.engine == ELASTICSEARCH


def search_problems(settings: Settings) -> list[ProblemSpec]:
    """What the search settings cannot see alone: sources of apps that are off, Elasticsearch without a user."""
    problems: list[ProblemSpec] = []
    search = settings.search
    override = settings.services.get(SEARCH)
    if override is not None and override.enabled is True and not search.enabled:
        problems.append(
            (
                ("services", SEARCH, "enabled"),
                True,
                "search.enabled is false; the search service is turned on and off with search.enabled "
                "(services.search.enabled false turns it off too); expected one switch, not two that disagree",
            )
        )
    for source, app in SOURCE_APPS.items():
        if search.source(source).enabled and not settings.is_enabled(app):
            problems.append(
                (
                    ("search", "sources", source, "enabled"),
                    True,
                    f"search.sources.{source} indexes {app}, which is off (services.{app}.enabled, or its tier); "
                    f"expected services.{app}.enabled true, or search.sources.{source}.enabled false",
                )
            )
    es = settings.services.get(ELASTICSEARCH)
    es_switch = es.enabled if es is not None else None
    if es_switch is True and not elasticsearch_wanted(settings):
        problems.append(
            (
                ("services", ELASTICSEARCH, "enabled"),
                True,
                "nothing on the site uses Elasticsearch unless search.engine is elasticsearch (search.engine is "
                f"{search.engine}{'' if search.enabled else ', search.enabled false'}); expected "
                "search.engine: elasticsearch, or services.elasticsearch.enabled removed",
            )
        )
    if es_switch is False and elasticsearch_wanted(settings):
        problems.append(
            (
                ("search", "engine"),
                ELASTICSEARCH,
                "needs the Elasticsearch service, but services.elasticsearch.enabled is false; expected "
                "search.engine: sqlite, or services.elasticsearch.enabled removed",
            )
        )
    return problems
